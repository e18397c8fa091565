// The OpenID provider of the OIDC sign-in tests: npm's OpenID-certified `oidc-provider`
// on loopback, with its development login screen (it asks only for a user name: checking
// passwords is the provider's business, not the assistant's). Configured by one JSON
// argument: {port, clients: [...], accounts: {name: {groups: [...]}}, codeTtl}.
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;

const provider = new Provider(issuer, {
  clients: config.clients,
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, groups: accounts[id].groups };
      },
    };
  },
  claims: { openid: ["sub"], profile: ["name", "preferred_username"], groups: ["groups"] },
  scopes: ["openid", "profile", "groups"],
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  ttl: { AuthorizationCode: config.codeTtl ?? 60, IdToken: 3600, AccessToken: 3600,
         Session: 3600, Interaction: 3600, Grant: 3600 },
  cookies: { keys: ["test-only-cookie-key"] },
});
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(config.port, "127.0.0.1", () => console.log(`listening ${issuer}`));
