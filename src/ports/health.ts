/** What a backend says about itself to /health and /health/ready. */
export interface HealthReport {
  readonly ok: boolean;
  /** Short human-readable reason when not ok (never a secret or a connection string). */
  readonly detail?: string;
}
