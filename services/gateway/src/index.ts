export { createGateway, type GatewayDeps } from "./app.js";
export { createStatusCache, type StatusCache } from "./status-cache.js";
export { HTTP_STATUS, HttpError } from "./http-errors.js";
export { connectedBus, type BusRef } from "./bus-ref.js";
