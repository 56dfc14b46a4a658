# Where a server's CPU goes by phase of a request, from `perf script` of a
# `perf record --call-graph dwarf` run (vs-jwt-authorizer.sh, PROFILE=1):
# a sample counts toward a phase when any frame of its stack is one of the
# phase's functions (so a phase includes what it calls). Prints
# "phase<TAB>samples" lines, "total" first, then two differences: the
# layer's work beside the three phases inside it, and the rest outside
# the layer, the handler and the socket calls. The phases of both servers
# are listed; each server's own functions match only its own.
BEGIN {
  RS = ""
  n = split("total|the layer|signature check|token parse (header, claims)|verified-token cache: insert and eviction|handler (the /whoami answer)|socket writes|socket reads", names, "|")
  re["the layer"] = "FedAuthService|AuthorizationService"
  re["signature check"] = "SignatureKey::verifies|jsonwebtoken::decoding::verify_signature"
  re["token parse (header, claims)"] = "UnverifiedToken::parse|jsonwebtoken::decoding::decode_header|Validation::to_jwt_validation|serde_json::de::from_trait"
  re["verified-token cache: insert and eviction"] = "token_cache::TokenCache::insert"
  re["handler (the /whoami answer)"] = "axum::handler::Handler<"
  re["socket writes"] = "writev"
  re["socket reads"] = "poll_read_from_io"
}
{
  count["total"]++
  for (i = 2; i <= n; i++) {
    if ($0 ~ re[names[i]]) count[names[i]]++
  }
}
END {
  for (i = 1; i <= n; i++) printf "%s\t%d\n", names[i], count[names[i]] + 0
  printf "the layer's other work\t%d\n", count["the layer"] - count["signature check"] \
    - count["token parse (header, claims)"] - count["verified-token cache: insert and eviction"]
  printf "the rest (HTTP, routing, runtime, scheduling)\t%d\n", count["total"] - count["the layer"] \
    - count["handler (the /whoami answer)"] - count["socket writes"] - count["socket reads"]
}
