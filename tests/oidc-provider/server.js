// A real OpenID provider for the fedauth integration tests
// (tests/src/oidc_provider.rs starts it): node `oidc-provider`, issuing
// RFC 9068 JWT access tokens through the client-credentials grant for one
// resource indicator (RFC 8707), as Auth0, Okta and Entra ID do for an API.
// With a DPoP proof (RFC 9449) on the token request, the access token is
// DPoP-bound: `token_type: DPoP` and `cnf.jkt`, the RFC 7638 thumbprint of
// the proof's key. Proofs at the token endpoint must carry a server nonce
// (the first request is answered 400 `use_dpop_nonce` with a `DPoP-Nonce`
// header), as providers that require nonces do; a request without a proof
// gets a bearer token as before.
//
// Listens on 127.0.0.1, on a port the system picks, and prints one line
// `listening on http://127.0.0.1:PORT` when it is ready; that URL is its
// issuer. The signing key is generated at start and lives only in memory.
// Nothing here reaches the network. SIGTERM or SIGINT stops it, and so does
// the end of the process that started it (a test killed outright leaves no
// provider behind).
//
// Usage: node server.js
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

// What the Rust side asks for; keep in step with tests/src/oidc_provider.rs.
const RESOURCE = 'https://api.platform.example';
const CLIENT_ID = 'app-api-1';
const CLIENT_SECRET = 'app-api-1-secret';

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration());
  server.on('request', provider.callback());
  process.stdout.write(`listening on ${issuer}\n`);
});

function configuration() {
  const signing = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [{ ...signing.privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    features: {
      // On by default; this provider has no users and no login pages.
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: {
        enabled: true,
        // Server nonces (RFC 9449 §8), derived from this secret and the time.
        nonceSecret: crypto.randomBytes(32),
        requireNonce: () => true,
      },
      resourceIndicators: {
        enabled: true,
        // A token request without `resource` gets no API token.
        defaultResource: () => undefined,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return {
            audience: RESOURCE,
            scope: 'read write',
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The proof algorithms the token endpoint accepts (its metadata's
    // dpop_signing_alg_values_supported).
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'PS256', 'RS256', 'EdDSA'] },
    ttl: { ClientCredentials: 300 },
  };
}

function stop() {
  server.close();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
// Orphaned: the parent is gone and another process adopted this one.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 1000).unref();
