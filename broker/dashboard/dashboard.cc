#include "broker/dashboard/dashboard.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/dashboard/action_api.h"
#include "broker/dashboard/embedded_assets.h"
#include "broker/dashboard/escalation_stream.h"
#include "broker/dashboard/query_params.h"
#include "broker/dashboard/read_api.h"
#include "broker/dashboard/responses.h"

namespace hart::dashboard {
namespace {

constexpr char kRoot[] = "/dashboard/";
constexpr char kAssets[] = "/dashboard/assets/";

const EmbeddedAsset* FindAsset(std::string_view name) {
  for (const EmbeddedAsset& asset : EmbeddedAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

ops::OpsResponse AssetResponse(const EmbeddedAsset& asset) {
  return Secured(200, ContentTypeOf(asset.name), std::string(asset.bytes));
}

std::string SessionCookie(const std::string& id, absl::Duration lifetime) {
  return absl::StrCat(kSessionCookie, "=", id, "; Max-Age=", absl::ToInt64Seconds(lifetime),
                      "; Path=/dashboard; HttpOnly; Secure; SameSite=Strict");
}

}  // namespace

Dashboard::Dashboard(const Clock& clock, RandomSource& random, DashboardOptions options,
                     DashboardServices services)
    : clock_(clock),
      options_(std::move(options)),
      services_(services),
      links_(clock, random, options_.link_lifetime),
      sessions_(clock, random, options_.sessions) {}

absl::StatusOr<std::pair<std::string, absl::Time>> Dashboard::CreateLogin(
    const Identity& identity) {
  const std::string origin = options_.origin ? options_.origin() : "";
  if (origin.empty()) {
    return absl::FailedPreconditionError(
        "the operations port is off (config server.ops.listen_address): no dashboard");
  }
  auto link = links_.Issue(identity);
  if (!link.ok()) return link.status();
  return std::make_pair(absl::StrCat(origin, "/dashboard/login?token=", link->token),
                        link->expires_at);
}

absl::Status Dashboard::Register(ops::Router& router) {
  using ops::PathMatch;
  if (auto s = router.Handle("GET", "/favicon.ico", PathMatch::kExact,
                             [](const ops::OpsRequest&, ops::Reply reply) {
                               // A logo reveals nothing: served to anyone.
                               reply.Respond(AssetResponse(*FindAsset("favicon.svg")));
                             });
      !s.ok()) {
    return s;
  }
  if (auto s = router.Handle("GET", "/dashboard/login", PathMatch::kExact,
                             [this](const ops::OpsRequest& request, ops::Reply reply) {
                               ServeLogin(request, reply);
                             });
      !s.ok()) {
    return s;
  }
  if (auto s = router.Handle("GET", "/dashboard", PathMatch::kExact,
                             [](const ops::OpsRequest&, ops::Reply reply) {
                               ops::OpsResponse moved = Secured(308, "text/plain", "");
                               moved.headers.emplace_back("Location", kRoot);
                               reply.Respond(std::move(moved));
                             });
      !s.ok()) {
    return s;
  }
  // The router picks the longest prefix first: /dashboard/api/ serves GET too.
  for (const char* prefix : {kRoot, "/dashboard/api/"}) {
    if (auto s = router.Handle("GET", prefix, PathMatch::kPrefix,
                               [this](const ops::OpsRequest& request, ops::Reply reply) {
                                 ServePage(request, reply);
                               });
        !s.ok()) {
      return s;
    }
  }
  return router.Handle("POST", "/dashboard/api/", PathMatch::kPrefix,
                       [this](const ops::OpsRequest& request, ops::Reply reply) {
                         ServeAction(request, reply);
                       });
}

void Dashboard::ServeAction(const ops::OpsRequest& request, const ops::Reply& reply) {
  auto caller = Authenticate(request, sessions_);
  if (!caller.ok()) {
    reply.Respond(ErrorJson(caller.status()));
    return;
  }
  if (auto s = CheckStateChange(request, *caller); !s.ok()) {
    reply.Respond(ErrorJson(s));
    return;
  }
  if (!dashboard::ServeAction(services_, caller->identity, request, reply)) {
    reply.Respond(ErrorJson(absl::NotFoundError("no such dashboard action")));
  }
}

void Dashboard::ServeLogin(const ops::OpsRequest& request, const ops::Reply& reply) {
  const auto params = ParseQuery(request.query);
  auto token = params.find("token");
  std::optional<Identity> identity;
  if (token != params.end()) identity = links_.Redeem(token->second);
  if (!identity) {
    reply.Respond(ErrorPage(absl::UnauthenticatedError(
        "this sign-in link is unknown, used already or expired: run `hartctl dashboard` for a "
        "new one")));
    return;
  }
  SignIn(*identity, "via=login-link", [this, reply](absl::StatusOr<NewSession> session) {
    if (!session.ok()) {
      reply.Respond(ErrorPage(session.status()));
      return;
    }
    ops::OpsResponse signed_in = Secured(303, "text/plain", "");
    signed_in.headers.emplace_back("Set-Cookie", SessionCookie(session->id, sessions_.absolute()));
    signed_in.headers.emplace_back("Location", kRoot);
    reply.Respond(std::move(signed_in));
  });
}

void Dashboard::SignIn(const Identity& identity, const char* via,
                       std::function<void(absl::StatusOr<NewSession>)> done) {
  services_.executor->Run(
      [this, identity, via]() -> absl::StatusOr<NewSession> {
        auto session = sessions_.Begin(identity);
        if (!session.ok()) return session.status();
        // Who opened the dashboard, and when, is in the audit log (SPEC §6);
        // a sign-in that could not be recorded does not happen.
        AuditEvent signed_in{clock_.Now(), identity.ToString(), "dashboard.signed_in", "", "", "",
                             via};
        if (auto s = services_.store->AppendAudit({&signed_in, 1}); !s.ok()) {
          sessions_.End(session->id);
          return absl::UnavailableError(
              "the broker could not record this sign-in in the audit log; retry");
        }
        return session;
      },
      std::move(done));
}

void Dashboard::ServePage(const ops::OpsRequest& request, const ops::Reply& reply) {
  auto caller = Authenticate(request, sessions_);
  if (!caller.ok()) {
    reply.Respond(ErrorPage(caller.status()));
    return;
  }
  std::string_view path = request.path;
  if (path == kRoot) {
    reply.Respond(AssetResponse(*FindAsset("index.html")));
    return;
  }
  if (path == "/dashboard/api/session") {
    // The page's script learns its CSRF token here. A certificate's holder
    // gets a session now, for the token to be bound to.
    auto answer = [reply](const Session& session, const std::string& cookie) {
      ops::OpsResponse json =
          Json(absl::StrCat("{\"identity\":", JsonString(session.identity.ToString()),
                            ",\"csrfToken\":", JsonString(session.csrf_token), "}"));
      if (!cookie.empty()) json.headers.emplace_back("Set-Cookie", cookie);
      reply.Respond(std::move(json));
    };
    if (caller->session) {
      answer(*caller->session, "");
      return;
    }
    SignIn(caller->identity, "via=client-certificate",
           [this, reply, answer](absl::StatusOr<NewSession> session) {
             if (!session.ok()) {
               reply.Respond(ErrorJson(session.status()));
               return;
             }
             answer(session->session, SessionCookie(session->id, sessions_.absolute()));
           });
    return;
  }
  if (path == "/dashboard/api/escalations") {
    ServeEscalations(services_, request, reply);
    return;
  }
  if (ServeRead(services_, caller->identity, request, reply)) return;
  if (path.starts_with(kAssets)) {
    if (const EmbeddedAsset* asset = FindAsset(path.substr(sizeof(kAssets) - 1))) {
      reply.Respond(AssetResponse(*asset));
      return;
    }
  }
  reply.Respond(ErrorPage(absl::NotFoundError("no such dashboard page")));
}

}  // namespace hart::dashboard
