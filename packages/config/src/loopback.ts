/** Names and addresses only this machine reaches: what makes a gateway bind "local mode". */
export const LOOPBACK_NAMES = /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)*\.localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** A bind address that only this machine can reach. */
export function isLoopbackBind(address: string): boolean {
  return LOOPBACK_NAMES.test(address) || address === "::1";
}
