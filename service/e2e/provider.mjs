// A real OIDC provider for the sign-in e2e: the `oidc-provider` package (an OpenID-certified
// implementation) on loopback, with one confidential client (jitgate), two people, and a plain
// sign-in form of its own. (The package's development pages load web fonts from the internet,
// which this test must never reach.) Consent is implied: jitgate is the organisation's own app.

import Provider from "oidc-provider";
import { generateKeyPairSync, randomBytes } from "node:crypto";

/** The people the provider knows: their groups, and the one password every one of them has. */
export const PEOPLE = { alice: ["analysts"], bob: ["sales-owners"] };
export const PASSWORD = "e2e-password";

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}
input,button{display:block;width:100%;margin:.4rem 0;padding:.5rem;box-sizing:border-box}
.note{color:#555;font-size:.9rem}.error{color:#a00}</style></head>
<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

async function formBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

/** Starts the provider on 127.0.0.1:`port`; resolves to { issuer, close }. */
export async function startProvider({ port, clientId, clientSecret, redirectUri, postLogoutUri }) {
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const key = { ...privateKey.export({ format: "jwk" }), kid: "e2e-key", use: "sig", alg: "RS256" };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], profile: ["preferred_username"], groups: ["groups"] },
    // The people's name and groups go into the ID token, which is all jitgate reads.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      if (!PEOPLE[id]) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, groups: PEOPLE[id] }) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page("Sign out", `${form}<p>Sign out of the identity provider too?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="logout-yes">Yes, sign me out</button>`);
        },
      },
    },
  });

  // The sign-in form: a person types their name and password, or cancels.
  provider.use(async (ctx, next) => {
    const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login|\/cancel)?$/);
    if (!m) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params, session } = details;
    const finish = async (result) => {
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    };
    if (m[2] === "/cancel" && ctx.method === "POST") {
      return finish({ error: "access_denied", error_description: "the person cancelled the sign-in" });
    }
    if (prompt.name === "login") {
      let problem = "";
      if (m[2] === "/login" && ctx.method === "POST") {
        const form = await formBody(ctx.req);
        const who = form.get("login");
        if (PEOPLE[who] && form.get("password") === PASSWORD) {
          return finish({ login: { accountId: who } });
        }
        problem = `<p class="error" role="alert">Unknown name or wrong password.</p>`;
      }
      ctx.type = "html";
      ctx.body = page("Sign in to the identity provider", `${problem}
<p class="note">${esc(params.client_id)} asks who you are.</p>
<form method="post" action="/interaction/${esc(details.uid)}/login">
<label>Name <input name="login" id="login" autocomplete="username" required></label>
<label>Password <input name="password" id="password" type="password" required></label>
<button type="submit" id="sign-in">Sign in</button></form>
<form method="post" action="/interaction/${esc(details.uid)}/cancel"><button type="submit" id="cancel">Cancel</button></form>`);
      return;
    }
    // Consent: granted for what jitgate asked, without a screen.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return finish({ consent: { grantId: await grant.save() } });
  });

  const server = await new Promise((resolve, reject) => {
    const s = provider.listen(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
  return { issuer, close: () => server.close() };
}
