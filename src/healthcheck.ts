/**
 * The container's health check (the Dockerfile's HEALTHCHECK): exits 0 when the server on this
 * machine answers /healthz with 200 (the database reachable), 1 otherwise — within 4 s.
 */
const port = process.env.PORT || '3000';
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
