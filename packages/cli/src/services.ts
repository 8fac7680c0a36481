import { join } from "node:path";

/** The platform's services, in start order (the gateway last, so it is ready when printed). */
export const SERVICES = ["job-scheduler", "status", "registry", "inference", "python-runner", "gateway"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A service's built entry point (`npm start` builds the services before it runs them). */
export function serviceEntry(root: string, name: ServiceName): string {
  return join(root, "services", name, "dist", "main.js");
}
