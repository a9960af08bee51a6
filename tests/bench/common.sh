# common.sh - sourced by the API benchmarks (bench_api.sh, cpu_per_request.sh,
# instructions.sh): the benchmark user of a running stack.

# bench_token BASE_URL: sign up bench@example.com and print an access token.
bench_token() {
	local body='{"email":"bench@example.com","password":"benchmark-password"}'
	curl -fsS -o /dev/null -XPOST "$1/api/v1/users/signup/" -H 'Content-Type: application/json' -d "$body"
	curl -fsS -XPOST "$1/api/v1/token/obtain/" -H 'Content-Type: application/json' -d "$body" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])'
}
