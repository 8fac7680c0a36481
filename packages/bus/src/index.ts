export { connectBus } from "./connect.js";
export type { Bus } from "./bus.js";
export type { BusLogger, BusOptions, BusState, ConsumedMessage, Consumption, TypedKv } from "./types.js";
export type { PublishAck, PublishOptions } from "./publish.js";
export type { ConsumeOptions, ConsumerHandlers, MessageHandler } from "./consume.js";
export type { RequestOptions, RpcContext, RpcHandler } from "./rpc.js";
export { TIMEOUT_HEADER } from "./rpc.js";
export type { SignalPublishOptions, SignalSubscribeOptions } from "./signals.js";
export { BusError, RemoteError } from "./errors.js";
