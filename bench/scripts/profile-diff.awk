# Compare two `perf report -n -F sample,sym` outputs (the baseline's, then
# the example server's), each normalised to samples per 1,000 requests:
# where the example server's extra CPU per request goes. Called by
# load.sh with PROFILE=1; variables: hz, base_requests, fedauth_requests.

# Lines look like "  1234  [k] symbol name" or "  56  [.] symbol name".
FNR == 1 { run++ }
$1 ~ /^[0-9]+$/ && ($2 == "[k]" || $2 == "[.]") {
  count = $1
  kind = $2
  sub(/^[ \t]*[0-9]+[ \t]+\[[k.]\][ \t]+/, "")
  key = kind " " $0
  samples[run, key] += count
  total[run] += count
  if (kind == "[k]") kernel[run] += count
  # fedauth's own code: the library, its axum adapter, its caches, its
  # metrics handles and hasher.
  if ($0 ~ /tower_fedauth|fedauth_axum|quick_cache|metrics|foldhash/) own[run] += count
  keys[key] = 1
}

function per_k(x, r) { return x / ((r == 1 ? base_requests : fedauth_requests) / 1000) }
function us(x) { return x / 1000 / hz * 1e6 }   # samples per 1k requests -> µs per request

END {
  if (run != 2 || base_requests <= 0 || fedauth_requests <= 0) {
    print "profile-diff: missing profiles or request counts" > "/dev/stderr"
    exit 1
  }
  printf "| | baseline | fedauth | extra |\n|---|---:|---:|---:|\n"
  for (r = 1; r <= 2; r++) {
    t[r] = per_k(total[r], r); k[r] = per_k(kernel[r], r); o[r] = per_k(own[r], r)
  }
  printf "| all, samples per 1,000 requests | %.1f | %.1f | %.1f |\n", t[1], t[2], t[2] - t[1]
  printf "| kernel | %.1f | %.1f | %.1f |\n", k[1], k[2], k[2] - k[1]
  printf "| user space | %.1f | %.1f | %.1f |\n", t[1] - k[1], t[2] - k[2], (t[2] - k[2]) - (t[1] - k[1])
  printf "| fedauth's own functions | %.1f | %.1f | %.1f |\n", o[1], o[2], o[2] - o[1]
  printf "\nCPU per request: baseline %.2f µs, fedauth %.2f µs; fedauth's own functions %.2f µs.\n", us(t[1]), us(t[2]), us(o[2])
  printf "CPU ratio baseline/fedauth: %.3f; with fedauth's own functions at zero cost: %.3f.\n", t[1] / t[2], t[1] / (t[2] - o[2])
  printf "\nSymbols with the most extra samples per 1,000 requests:\n\n| extra | symbol |\n|---:|---|\n"
  for (key in keys) diff[key] = per_k(samples[2, key], 2) - per_k(samples[1, key], 1)
  for (i = 1; i <= 15; i++) {
    best = ""
    for (key in diff) if (best == "" || diff[key] > diff[best]) best = key
    if (best == "") break
    name = substr(best, 1, 120)
    gsub(/\|/, "\\|", name)
    printf "| %.2f | `%s` |\n", diff[best], name
    delete diff[best]
  }
}
