#!/usr/bin/env bash
# End-to-end check of the Connections, auto scaling configuration and
# tagging APIs through the AWS CLI,
# against a running OpenRunner at $OPENRUNNER_URL (default
# http://127.0.0.1:4590) with the default test/test credentials. It runs every
# step twice: once with --endpoint-url, once with AWS_ENDPOINT_URL_APPRUNNER.
# Then image services on Docker, and a source-code service on a second server
# ($OPENRUNNER_SOURCE_URL, see source_service; scripts/test sets it up).
set -euo pipefail

url=${OPENRUNNER_URL:-http://127.0.0.1:4590}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=""
unset AWS_PROFILE
passed=0 failed=0

ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# expect_error EXCEPTION CMD...: the CLI must fail and name EXCEPTION.
expect_error() {
	local want=$1; shift
	local out
	if out=$("$@" 2>&1); then fail "$want expected, command succeeded: $*"; return; fi
	if grep -q "($want)" <<<"$out"; then ok "$want: ${*:3:2}"; else fail "$want expected, got: $out"; fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

suite() {
	local mode=$1
	local name="cli-$mode-$$"
	local ar=(aws apprunner)
	if [[ $mode == flag ]]; then ar+=(--endpoint-url "$url"); fi

	out=$("${ar[@]}" create-connection --connection-name "$name" --provider-type BITBUCKET --tags Key=team,Value=web)
	arn=$(json 'd["Connection"]["ConnectionArn"]' <<<"$out")
	status=$(json 'd["Connection"]["Status"]' <<<"$out")
	[[ $status == PENDING_HANDSHAKE ]] && ok "$mode: create-connection is PENDING_HANDSHAKE" || fail "$mode: status $status"
	[[ $arn =~ ^arn:aws:apprunner:us-east-1:000000000000:connection/$name/[0-9a-f]{32}$ ]] && ok "$mode: ARN $arn" || fail "$mode: ARN $arn"

	n=$("${ar[@]}" list-connections --connection-name "$name" | json 'len(d["ConnectionSummaryList"])')
	[[ $n == 1 ]] && ok "$mode: list-connections --connection-name finds it" || fail "$mode: found $n"
	provider=$("${ar[@]}" list-connections --connection-name "$name" | json 'd["ConnectionSummaryList"][0]["ProviderType"]')
	[[ $provider == BITBUCKET ]] && ok "$mode: provider BITBUCKET" || fail "$mode: provider $provider"

	"${ar[@]}" tag-resource --resource-arn "$arn" --tags Key=env,Value=prod Key=team,Value=api >/dev/null
	tags=$("${ar[@]}" list-tags-for-resource --resource-arn "$arn" | json '",".join(t["Key"]+"="+t["Value"] for t in d["Tags"])')
	[[ $tags == env=prod,team=api ]] && ok "$mode: tags $tags" || fail "$mode: tags $tags"
	"${ar[@]}" untag-resource --resource-arn "$arn" --tag-keys env absent >/dev/null
	tags=$("${ar[@]}" list-tags-for-resource --resource-arn "$arn" | json '",".join(t["Key"]+"="+t["Value"] for t in d["Tags"])')
	[[ $tags == team=api ]] && ok "$mode: untag" || fail "$mode: tags after untag $tags"

	expect_error InvalidRequestException "${ar[@]}" create-connection --connection-name "$name" --provider-type GITHUB
	expect_error InvalidRequestException "${ar[@]}" create-connection --connection-name "bad name!" --provider-type GITHUB
	expect_error InvalidRequestException "${ar[@]}" tag-resource --resource-arn "$arn" --tags Key=aws:reserved,Value=v
	expect_error InvalidRequestException "${ar[@]}" delete-connection --connection-arn "not-an-arn"

	status=$("${ar[@]}" delete-connection --connection-arn "$arn" | json 'd["Connection"]["Status"]')
	[[ $status == DELETED ]] && ok "$mode: delete-connection returns DELETED" || fail "$mode: delete status $status"
	expect_error ResourceNotFoundException "${ar[@]}" delete-connection --connection-arn "$arn"
	expect_error ResourceNotFoundException "${ar[@]}" list-tags-for-resource --resource-arn "$arn"
	n=$("${ar[@]}" list-connections --connection-name "$name" | json 'len(d["ConnectionSummaryList"])')
	[[ $n == 0 ]] && ok "$mode: gone from list-connections" || fail "$mode: still listed ($n)"

	AWS_SECRET_ACCESS_KEY=wrong expect_error InvalidSignatureException "${ar[@]}" list-connections
	AWS_ACCESS_KEY_ID=nobody expect_error UnrecognizedClientException "${ar[@]}" list-connections
}

# autoscaling: two revisions, describe, list (--latest-only), the default
# moved and back, list-services-for-auto-scaling-configuration, delete.
autoscaling() {
	local ar=(aws apprunner --endpoint-url "$url") name="cli-asc-$$"
	local out arn1 arn2 status n
	arn1=$("${ar[@]}" create-auto-scaling-configuration --auto-scaling-configuration-name "$name" --tags Key=team,Value=web |
		json 'd["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]')
	[[ $arn1 =~ ^arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/$name/1/[0-9a-f]{32}$ ]] && ok "asc: create revision 1" || fail "asc: ARN $arn1"
	out=$("${ar[@]}" create-auto-scaling-configuration --auto-scaling-configuration-name "$name" --max-concurrency 50 --min-size 2 --max-size 5)
	arn2=$(json 'd["AutoScalingConfiguration"]["AutoScalingConfigurationArn"]' <<<"$out")
	status=$(json '"%d %s %s %d/%d/%d" % (d["AutoScalingConfiguration"]["AutoScalingConfigurationRevision"], d["AutoScalingConfiguration"]["Status"], d["AutoScalingConfiguration"]["Latest"], d["AutoScalingConfiguration"]["MaxConcurrency"], d["AutoScalingConfiguration"]["MinSize"], d["AutoScalingConfiguration"]["MaxSize"])' <<<"$out")
	[[ $status == "2 active True 50/2/5" ]] && ok "asc: create revision 2" || fail "asc: revision 2: $status"
	status=$("${ar[@]}" describe-auto-scaling-configuration --auto-scaling-configuration-arn "$arn1" | json 'd["AutoScalingConfiguration"]["Latest"]')
	[[ $status == False ]] && ok "asc: describe: revision 1 no longer Latest" || fail "asc: revision 1 Latest $status"
	out=$("${ar[@]}" list-auto-scaling-configurations --auto-scaling-configuration-name "$name" | json '" ".join(str(s["AutoScalingConfigurationRevision"]) for s in d["AutoScalingConfigurationSummaryList"])')
	[[ $out == "1 2" ]] && ok "asc: list by name" || fail "asc: list by name: $out"
	out=$("${ar[@]}" list-auto-scaling-configurations --latest-only | json '" ".join("%s/%d" % (s["AutoScalingConfigurationName"], s["AutoScalingConfigurationRevision"]) for s in d["AutoScalingConfigurationSummaryList"])')
	[[ $out == *"$name/2"* && $out != *"$name/1"* && $out == *DefaultConfiguration/1* ]] && ok "asc: list --latest-only" || fail "asc: list --latest-only: $out"
	status=$("${ar[@]}" update-default-auto-scaling-configuration --auto-scaling-configuration-arn "arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/$name" |
		json '"%s %s" % (d["AutoScalingConfiguration"]["AutoScalingConfigurationArn"], d["AutoScalingConfiguration"]["IsDefault"])')
	[[ $status == "$arn2 True" ]] && ok "asc: update-default to the latest revision" || fail "asc: update-default: $status"
	expect_error InvalidRequestException "${ar[@]}" delete-auto-scaling-configuration --auto-scaling-configuration-arn "$arn2"
	"${ar[@]}" update-default-auto-scaling-configuration --auto-scaling-configuration-arn \
		arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001 >/dev/null
	n=$("${ar[@]}" list-services-for-auto-scaling-configuration --auto-scaling-configuration-arn "$arn1" | json 'len(d["ServiceArnList"])')
	[[ $n == 0 ]] && ok "asc: list-services-for-auto-scaling-configuration" || fail "asc: services $n"
	status=$("${ar[@]}" delete-auto-scaling-configuration --auto-scaling-configuration-arn "$arn1" | json 'd["AutoScalingConfiguration"]["Status"]')
	[[ $status == inactive ]] && ok "asc: delete returns inactive" || fail "asc: delete status $status"
	expect_error InvalidRequestException "${ar[@]}" delete-auto-scaling-configuration --auto-scaling-configuration-arn "$arn1"
	expect_error InvalidRequestException "${ar[@]}" delete-auto-scaling-configuration --auto-scaling-configuration-arn "$arn2" --delete-all-revisions
	"${ar[@]}" delete-auto-scaling-configuration --auto-scaling-configuration-arn "arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/$name" --delete-all-revisions >/dev/null
	n=$("${ar[@]}" list-auto-scaling-configurations --auto-scaling-configuration-name "$name" | json 'len(d["AutoScalingConfigurationSummaryList"])')
	[[ $n == 0 ]] && ok "asc: delete --delete-all-revisions" || fail "asc: still listed ($n)"
}

# custom_domains ARN: associate, describe (until active, without ACME: a
# local-CA certificate), disassociate (deleting, then gone) on a running
# service.
custom_domains() {
	local ar=(aws apprunner --endpoint-url "$url") arn=$1 dom="cli-$$.example.test" out st n
	out=$("${ar[@]}" associate-custom-domain --service-arn "$arn" --domain-name "$dom")
	[[ $(json 'd["CustomDomain"]["Status"] + " " + str(len(d["CustomDomain"]["CertificateValidationRecords"])) + " " + str(d["DNSTarget"] != "")' <<<"$out") == "creating 2 True" ]] &&
		ok "associate-custom-domain: creating, 2 records" || fail "associate-custom-domain: $out"
	for _ in $(seq 100); do
		st=$("${ar[@]}" describe-custom-domains --service-arn "$arn" | json '[c["Status"] for c in d["CustomDomains"] if c["DomainName"] == "'"$dom"'"][0]')
		[[ $st == active ]] && break
		sleep 0.2
	done
	[[ $st == active ]] && ok "describe-custom-domains: active" || fail "describe-custom-domains: $st"
	expect_error InvalidRequestException "${ar[@]}" associate-custom-domain --service-arn "$arn" --domain-name "$dom"
	st=$("${ar[@]}" disassociate-custom-domain --service-arn "$arn" --domain-name "$dom" | json 'd["CustomDomain"]["Status"]')
	[[ $st == deleting ]] && ok "disassociate-custom-domain: deleting" || fail "disassociate-custom-domain: $st"
	for _ in $(seq 100); do
		n=$("${ar[@]}" describe-custom-domains --service-arn "$arn" | json 'len(d["CustomDomains"])')
		[[ $n == 0 ]] && break
		sleep 0.2
	done
	[[ $n == 0 ]] && ok "describe-custom-domains: disassociated" || fail "describe-custom-domains: $n left"
}

# observability: two revisions (one with X-Ray tracing), describe, list,
# the reserved name refused, delete (INACTIVE, still describable).
observability() {
	local ar=(aws apprunner --endpoint-url "$url") name="cli-obs-$$"
	local arn1 arn2 out status
	arn1=$("${ar[@]}" create-observability-configuration --observability-configuration-name "$name" \
		--trace-configuration Vendor=AWSXRAY --tags Key=team,Value=web | json 'd["ObservabilityConfiguration"]["ObservabilityConfigurationArn"]')
	[[ $arn1 =~ ^arn:aws:apprunner:us-east-1:000000000000:observabilityconfiguration/$name/1/[0-9a-f]{32}$ ]] && ok "obs: create revision 1" || fail "obs: ARN $arn1"
	arn2=$("${ar[@]}" create-observability-configuration --observability-configuration-name "$name" | json 'd["ObservabilityConfiguration"]["ObservabilityConfigurationArn"]')
	[[ $arn2 == */$name/2/* ]] && ok "obs: create revision 2" || fail "obs: second ARN $arn2"
	out=$("${ar[@]}" describe-observability-configuration --observability-configuration-arn "$arn1" |
		json '"%s %s %s" % (d["ObservabilityConfiguration"]["Status"], d["ObservabilityConfiguration"]["Latest"], d["ObservabilityConfiguration"]["TraceConfiguration"]["Vendor"])')
	[[ $out == "ACTIVE False AWSXRAY" ]] && ok "obs: describe revision 1: $out" || fail "obs: describe revision 1: $out"
	out=$("${ar[@]}" list-observability-configurations --observability-configuration-name "$name" |
		json '" ".join(str(s["ObservabilityConfigurationRevision"]) for s in d["ObservabilityConfigurationSummaryList"])')
	[[ $out == "1 2" ]] && ok "obs: list: revisions $out" || fail "obs: list: $out"
	out=$("${ar[@]}" list-observability-configurations --latest-only | json '" ".join("%s/%d" % (s["ObservabilityConfigurationName"], s["ObservabilityConfigurationRevision"]) for s in d["ObservabilityConfigurationSummaryList"])')
	[[ " $out " == *" $name/2 "* && " $out " != *" $name/1 "* ]] && ok "obs: list --latest-only" || fail "obs: list --latest-only: $out"
	expect_error InvalidRequestException "${ar[@]}" create-observability-configuration --observability-configuration-name DefaultConfiguration
	status=$("${ar[@]}" delete-observability-configuration --observability-configuration-arn "arn:aws:apprunner:us-east-1:000000000000:observabilityconfiguration/$name" |
		json 'd["ObservabilityConfiguration"]["Status"]')
	[[ $status == INACTIVE ]] && ok "obs: delete the latest: INACTIVE" || fail "obs: delete: $status"
	status=$("${ar[@]}" describe-observability-configuration --observability-configuration-arn "$arn2" | json 'd["ObservabilityConfiguration"]["Status"]')
	[[ $status == INACTIVE ]] && ok "obs: deleted revision still describable" || fail "obs: deleted revision describes $status"
	expect_error InvalidRequestException "${ar[@]}" delete-observability-configuration --observability-configuration-arn "$arn2"
	"${ar[@]}" delete-observability-configuration --observability-configuration-arn "$arn1" >/dev/null
	out=$("${ar[@]}" list-observability-configurations --observability-configuration-name "$name" | json 'len(d["ObservabilityConfigurationSummaryList"])')
	[[ $out == 0 ]] && ok "obs: all revisions deleted" || fail "obs: still listed ($out)"
	expect_error ResourceNotFoundException "${ar[@]}" describe-observability-configuration \
		--observability-configuration-arn "arn:aws:apprunner:us-east-1:000000000000:observabilityconfiguration/$name"
}

# services: create, describe, list, list-operations, pause, resume, delete,
# with the test image the Go tests build into the local Docker engine.
services() {
	local ar=(aws apprunner --endpoint-url "$url") image=123456789012.dkr.ecr.us-east-1.amazonaws.com/openrunner-e2e:1
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		if [[ ${CI:-} == true ]]; then fail "services: test image $image missing"; else echo "skip - services: no Docker test image"; fi
		return
	fi
	local src="{\"ImageRepository\":{\"ImageIdentifier\":\"$image\",\"ImageRepositoryType\":\"ECR\",\"ImageConfiguration\":{\"Port\":\"8080\"}},\"AutoDeploymentsEnabled\":false}"
	local out arn status
	out=$("${ar[@]}" create-service --service-name "cli-svc-$$" --source-configuration "$src")
	arn=$(json 'd["Service"]["ServiceArn"]' <<<"$out")
	[[ $(json 'd["Service"]["Status"]' <<<"$out") == OPERATION_IN_PROGRESS ]] && ok "create-service" || fail "create-service: $out"
	wait_status() {
		for _ in $(seq 300); do
			status=$("${ar[@]}" describe-service --service-arn "$arn" | json 'd["Service"]["Status"]')
			[[ $status != OPERATION_IN_PROGRESS ]] && return
			sleep 0.2
		done
	}
	wait_status
	[[ $status == RUNNING ]] && ok "describe-service: RUNNING" || fail "describe-service: $status"
	n=$("${ar[@]}" list-services | json 'len([s for s in d["ServiceSummaryList"] if s["ServiceArn"] == "'"$arn"'"])')
	[[ $n == 1 ]] && ok "list-services" || fail "list-services: $n"
	"${ar[@]}" pause-service --service-arn "$arn" >/dev/null
	wait_status
	[[ $status == PAUSED ]] && ok "pause-service: PAUSED" || fail "pause-service: $status"
	"${ar[@]}" resume-service --service-arn "$arn" >/dev/null
	wait_status
	[[ $status == RUNNING ]] && ok "resume-service: RUNNING" || fail "resume-service: $status"
	types=$("${ar[@]}" list-operations --service-arn "$arn" | json '",".join(o["Type"] + ":" + o["Status"] for o in d["OperationSummaryList"])')
	[[ $types == RESUME_SERVICE:SUCCEEDED,PAUSE_SERVICE:SUCCEEDED,CREATE_SERVICE:SUCCEEDED ]] && ok "list-operations: newest first" || fail "list-operations: $types"
	custom_domains "$arn"
	"${ar[@]}" delete-service --service-arn "$arn" >/dev/null
	wait_status
	[[ $status == DELETED ]] && ok "delete-service: DELETED" || fail "delete-service: $status"
}

# secrets MODE: the README's secrets walk-through. A database password in
# Secrets Manager (a JSON secret) and a SecureString parameter, stored with
# the AWS CLI (with --endpoint-url, or the AWS_ENDPOINT_URL_* variables);
# an image service receives them (checked by hash at /env-hash on the
# router, $OPENRUNNER_ROUTER); a rotated password arrives with
# start-deployment; a missing secret is CREATE_FAILED naming the variable;
# the values are nowhere in the data directory ($OPENRUNNER_DATA_DIR), the
# service's log or describe-service.
secrets() {
	local mode=$1
	local sm=(aws secretsmanager) ssm=(aws ssm) ar=(aws apprunner) image=123456789012.dkr.ecr.us-east-1.amazonaws.com/openrunner-e2e:1
	if [[ $mode == flag ]]; then sm+=(--endpoint-url "$url"); ssm+=(--endpoint-url "$url"); ar+=(--endpoint-url "$url"); fi
	local name="cli-db-$mode-$$" pw="pw-$RANDOM$RANDOM-$mode" pw2="pw2-$RANDOM$RANDOM-$mode" token="tok-$RANDOM$RANDOM-$mode"
	local out secret_arn
	out=$("${sm[@]}" create-secret --name "$name" --secret-string "{\"username\":\"app\",\"password\":\"$pw\"}")
	secret_arn=$(json 'd["ARN"]' <<<"$out")
	[[ $secret_arn =~ ^arn:aws:secretsmanager:us-east-1:000000000000:secret:$name-[A-Za-z0-9]{6}$ ]] && ok "secrets $mode: create-secret $secret_arn" || fail "secrets $mode: create-secret: $out"
	"${ssm[@]}" put-parameter --name "/cli/$mode/$$/token" --type SecureString --value "$token" >/dev/null && ok "secrets $mode: put-parameter SecureString" || fail "secrets $mode: put-parameter"
	got=$("${ssm[@]}" get-parameter --name "/cli/$mode/$$/token" --with-decryption | json 'd["Parameter"]["Value"]')
	[[ $got == "$token" ]] && ok "secrets $mode: get-parameter --with-decryption" || fail "secrets $mode: get-parameter: $got"
	expect_error ParameterAlreadyExists "${ssm[@]}" put-parameter --name "/cli/$mode/$$/token" --type SecureString --value x
	expect_error ResourceExistsException "${sm[@]}" create-secret --name "$name" --secret-string x
	expect_error ResourceNotFoundException "${sm[@]}" get-secret-value --secret-id "cli-nope-$$"
	expect_error ParameterNotFound "${ssm[@]}" get-parameter --name "/cli/nope/$$"
	if ! docker image inspect "$image" >/dev/null 2>&1 || [[ -z ${OPENRUNNER_ROUTER:-} ]]; then
		if [[ ${CI:-} == true ]]; then fail "secrets: test image $image or OPENRUNNER_ROUTER missing"; else echo "skip - secrets: no Docker test image or router address"; fi
		return
	fi
	local param_arn="arn:aws:ssm:us-east-1:000000000000:parameter/cli/$mode/$$/token"
	local src="{\"ImageRepository\":{\"ImageIdentifier\":\"$image\",\"ImageRepositoryType\":\"ECR\",\"ImageConfiguration\":{\"Port\":\"8080\",\"RuntimeEnvironmentSecrets\":{\"DB_PASSWORD\":\"$secret_arn:password::\",\"TOKEN_BY_ARN\":\"$param_arn\",\"TOKEN_BY_NAME\":\"/cli/$mode/$$/token\"}}},\"AutoDeploymentsEnabled\":false}"
	local arn host status
	out=$("${ar[@]}" create-service --service-name "cli-secrets-$mode-$$" --source-configuration "$src")
	arn=$(json 'd["Service"]["ServiceArn"]' <<<"$out") host=$(json 'd["Service"]["ServiceUrl"]' <<<"$out")
	sec_status() {
		for _ in $(seq 300); do
			status=$("${ar[@]}" describe-service --service-arn "$1" | json 'd["Service"]["Status"]')
			[[ $status != OPERATION_IN_PROGRESS ]] && return
			sleep 0.2
		done
	}
	hash_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
	env_hash() { curl -sS -H "Host: $host" "http://$OPENRUNNER_ROUTER/env-hash?name=$1"; }
	sec_status "$arn"
	[[ $status == RUNNING ]] && ok "secrets $mode: service RUNNING" || fail "secrets $mode: service $status"
	[[ $(env_hash DB_PASSWORD) == "$(hash_of "$pw")" ]] && ok "secrets $mode: DB_PASSWORD from the JSON key" || fail "secrets $mode: DB_PASSWORD hash $(env_hash DB_PASSWORD)"
	[[ $(env_hash TOKEN_BY_ARN) == "$(hash_of "$token")" ]] && ok "secrets $mode: SSM parameter by ARN" || fail "secrets $mode: TOKEN_BY_ARN"
	[[ $(env_hash TOKEN_BY_NAME) == "$(hash_of "$token")" ]] && ok "secrets $mode: SSM parameter by name" || fail "secrets $mode: TOKEN_BY_NAME"
	"${sm[@]}" put-secret-value --secret-id "$name" --secret-string "{\"password\":\"$pw2\"}" >/dev/null
	[[ $(env_hash DB_PASSWORD) == "$(hash_of "$pw")" ]] && ok "secrets $mode: the running service keeps its value" || fail "secrets $mode: the value changed without a deployment"
	"${ar[@]}" start-deployment --service-arn "$arn" >/dev/null
	for _ in $(seq 300); do [[ $(env_hash DB_PASSWORD) == "$(hash_of "$pw2")" ]] && break; sleep 0.2; done
	[[ $(env_hash DB_PASSWORD) == "$(hash_of "$pw2")" ]] && ok "secrets $mode: start-deployment brings the rotated value" || fail "secrets $mode: not rotated"
	local described logs
	described=$("${ar[@]}" describe-service --service-arn "$arn")
	logs=$("$OPENRUNNER_BIN" logs --endpoint-url "$url" "$arn" 2>&1 || true)
	local bad_src=${src/$secret_arn:password::/$secret_arn-nope}
	out=$("${ar[@]}" create-service --service-name "cli-nosecret-$mode-$$" --source-configuration "$bad_src")
	local bad_arn
	bad_arn=$(json 'd["Service"]["ServiceArn"]' <<<"$out")
	sec_status "$bad_arn"
	[[ $status == CREATE_FAILED ]] && ok "secrets $mode: a missing secret is CREATE_FAILED" || fail "secrets $mode: missing secret: $status"
	out=$("$OPENRUNNER_BIN" logs --endpoint-url "$url" "$bad_arn" 2>&1 || true)
	[[ $out == *"The secret DB_PASSWORD could not be read"* ]] && ok "secrets $mode: the log names the variable" || fail "secrets $mode: log: $out"
	local leaks=0
	for v in "$pw" "$pw2" "$token"; do
		if grep -rqF -- "$v" "${OPENRUNNER_DATA_DIR:-/nonexistent}" 2>/dev/null || [[ $described == *"$v"* || $logs == *"$v"* ]]; then leaks=$((leaks + 1)); fi
	done
	[[ $leaks == 0 ]] && ok "secrets $mode: no value in the data dir, the service log or describe-service" || fail "secrets $mode: $leaks values found in clear"
	"${ar[@]}" delete-service --service-arn "$arn" >/dev/null
	"${ar[@]}" delete-service --service-arn "$bad_arn" >/dev/null
	"${sm[@]}" delete-secret --secret-id "$name" --force-delete-without-recovery >/dev/null
	"${ssm[@]}" delete-parameter --name "/cli/$mode/$$/token" >/dev/null && ok "secrets $mode: cleaned up" || fail "secrets $mode: delete-parameter"
}

# source_service: the README's source-code walk-through against a server
# building with host processes (--runtime process) whose GitHub is the
# provider simulator (internal/providersim/cmd/providersim); scripts/test
# starts both and sets the variables. A connection, its handshake with a
# token, a service from the repository, RUNNING, its ServiceUrl on the
# router, a push going live through the webhook, the connection refused
# deletion while in use, and the service deleted.
source_service() {
	local v missing=()
	for v in OPENRUNNER_SOURCE_URL OPENRUNNER_SOURCE_ROUTER OPENRUNNER_BIN PROVIDERSIM_CLONE_URL PROVIDERSIM_TOKEN PROVIDERSIM_CONTROL_URL; do
		[[ -n ${!v:-} ]] || missing+=("$v")
	done
	if ((${#missing[@]})); then
		if [[ ${CI:-} == true ]]; then fail "source: ${missing[*]} not set"; else echo "skip - source: ${missing[*]} not set (scripts/test sets them)"; fi
		return
	fi
	local api=$OPENRUNNER_SOURCE_URL router=$OPENRUNNER_SOURCE_ROUTER
	local ar=(aws apprunner --endpoint-url "$api") name="cli-src-$$"
	local out conn tokfile arn host status body sha ops i

	# 1. A connection, made AVAILABLE with a token.
	conn=$("${ar[@]}" create-connection --connection-name "$name" --provider-type GITHUB | json 'd["Connection"]["ConnectionArn"]')
	tokfile=$(mktemp)
	printf '%s\n' "$PROVIDERSIM_TOKEN" >"$tokfile"
	out=$("$OPENRUNNER_BIN" connection handshake --endpoint-url "$api" --connection-arn "$conn" --token-file "$tokfile" 2>&1) || true
	rm -f "$tokfile"
	status=$("${ar[@]}" list-connections --connection-name "$name" | json 'd["ConnectionSummaryList"][0]["Status"]')
	[[ $status == AVAILABLE && $out == *AVAILABLE*octo* ]] && ok "source: connection handshake: AVAILABLE" || fail "source: handshake: $status: $out"

	# 2. A service from the repository, configured by its apprunner.yaml.
	local src='{"CodeRepository":{"RepositoryUrl":"'"$PROVIDERSIM_CLONE_URL"'","SourceCodeVersion":{"Type":"BRANCH","Value":"main"},"CodeConfiguration":{"ConfigurationSource":"REPOSITORY"}},"AuthenticationConfiguration":{"ConnectionArn":"'"$conn"'"}}'
	out=$("${ar[@]}" create-service --service-name "$name" --source-configuration "$src")
	arn=$(json 'd["Service"]["ServiceArn"]' <<<"$out")
	host=$(json 'd["Service"]["ServiceUrl"]' <<<"$out")
	[[ $(json 'd["Service"]["Status"]' <<<"$out") == OPERATION_IN_PROGRESS ]] && ok "source: create-service" || fail "source: create-service: $out"
	src_status() {
		for _ in $(seq 600); do
			status=$("${ar[@]}" describe-service --service-arn "$arn" | json 'd["Service"]["Status"]')
			[[ $status != OPERATION_IN_PROGRESS ]] && return
			sleep 0.2
		done
	}
	# src_body WANT: wait until the service answers WANT on the router.
	src_body() {
		for _ in $(seq 300); do
			body=$(curl -sS -H "Host: $host" "http://$router/" 2>&1) || true
			[[ $body == "$1" ]] && return
			sleep 0.2
		done
	}
	src_status
	if [[ $status == RUNNING ]]; then ok "source: describe-service: RUNNING"; else
		fail "source: describe-service: $status"
		"$OPENRUNNER_BIN" logs --endpoint-url "$api" "$arn" | tail -n 30 | sed 's/^/    /'
	fi

	# 3. It answers at its ServiceUrl, on the router (--router-listen).
	src_body v1
	[[ $body == v1 ]] && ok "source: curl -H 'Host: $host' answers v1" || fail "source: the service answers: $body"
	# ... and over HTTPS (HTTP/2), trusting the local CA as the README shows.
	if [[ -n ${OPENRUNNER_SOURCE_TLS_PORT:-} ]]; then
		tp=$OPENRUNNER_SOURCE_TLS_PORT
		tls_curl() { curl -sS --http2 --cacert <("$OPENRUNNER_BIN" ca --data-dir "$OPENRUNNER_SOURCE_DATA_DIR") --resolve "$host:$tp:127.0.0.1" "$@" "https://$host:$tp/" 2>&1; }
		body=$(tls_curl) || true
		proto=$(tls_curl -o /dev/null -w '%{http_version}') || true
		[[ $body == v1 && $proto == 2 ]] && ok "source: curl --cacert <(openrunner ca) https://$host:$tp/ answers v1 over HTTP/2" || fail "source: HTTPS: $body (HTTP version $proto)"
	fi

	# 4. A connection in use cannot be deleted.
	if out=$("${ar[@]}" delete-connection --connection-arn "$conn" 2>&1); then
		fail "source: delete-connection of a connection in use succeeded"
	elif [[ $out == *"(InvalidRequestException)"*"$name"* ]]; then
		ok "source: delete-connection refused while $name uses it"
	else
		fail "source: delete-connection: $out"
	fi

	# 5. A push goes live on its own: the simulator delivers the signed
	# webhook OpenRunner registered when it created the service.
	out=$(curl -fsS -X POST -d '{"repo":"octo/hello","branch":"main","message":"v2"}' "$PROVIDERSIM_CONTROL_URL/commit")
	sha=$(json 'd["sha"]' <<<"$out")
	status=$(json '",".join(str(x["status"]) for x in d["deliveries"] if x["event"] == "push")' <<<"$out")
	[[ $status == 2?? ]] && ok "source: push $sha: webhook delivered ($status)" || fail "source: push deliveries: $out"
	src_body v2
	[[ $body == v2 ]] && ok "source: the push went live: v2" || fail "source: after the push the service answers: $body"
	for i in $(seq 100); do
		ops=$("${ar[@]}" list-operations --service-arn "$arn" | json '",".join(o["Type"] + ":" + o["Status"] for o in d["OperationSummaryList"])')
		[[ $ops != *PENDING* && $ops != *IN_PROGRESS* ]] && break
		sleep 0.2
	done
	[[ $ops == START_DEPLOYMENT:SUCCEEDED,CREATE_SERVICE:SUCCEEDED ]] && ok "source: list-operations: $ops" || fail "source: list-operations: $ops"
	out=$("$OPENRUNNER_BIN" logs --endpoint-url "$api" "$arn")
	[[ $out == *"Deploying commit $sha"* ]] && ok "source: openrunner logs: deploying commit $sha" || fail "source: the log does not name commit $sha: $out"

	# 6. Deleted, the service stops answering and lets go of the connection.
	"${ar[@]}" delete-service --service-arn "$arn" >/dev/null
	src_status
	[[ $status == DELETED ]] && ok "source: delete-service: DELETED" || fail "source: delete-service: $status"
	status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: $host" "http://$router/")
	[[ $status == 404 ]] && ok "source: the deleted service's URL answers 404" || fail "source: the deleted service's URL answers $status"
	status=$("${ar[@]}" delete-connection --connection-arn "$conn" | json 'd["Connection"]["Status"]')
	[[ $status == DELETED ]] && ok "source: delete-connection: DELETED" || fail "source: delete-connection: $status"
}

# vpc: VPC connectors (create, describe, list, refused deletion while a
# service uses one, delete) and VPC ingress connections (create, list with
# its filter, describe until it settles, delete until DELETED). The service
# need not run: a CREATE_FAILED one holds its connector and connection, and
# the ingress connection's VPC network does not exist, so it ends
# FAILED_CREATION whatever the runtime.
vpc() {
	local ar=(aws apprunner --endpoint-url "$url") name="cli-vpc-$$"
	local out vc svc ic status n
	out=$("${ar[@]}" create-vpc-connector --vpc-connector-name "$name" --subnets "subnet-$$" --security-groups sg-1 --tags Key=team,Value=db)
	vc=$(json 'd["VpcConnector"]["VpcConnectorArn"]' <<<"$out")
	status=$(json '"%s %d %s" % (d["VpcConnector"]["Status"], d["VpcConnector"]["VpcConnectorRevision"], ",".join(d["VpcConnector"]["Subnets"]))' <<<"$out")
	[[ $status == "ACTIVE 1 subnet-$$" && $vc =~ :vpcconnector/$name/1/[0-9a-f]{32}$ ]] && ok "vpc: create-vpc-connector" || fail "vpc: create-vpc-connector: $status $vc"
	expect_error InvalidRequestException "${ar[@]}" create-vpc-connector --vpc-connector-name "$name" --subnets subnet-x
	n=$("${ar[@]}" list-vpc-connectors | json 'len([c for c in d["VpcConnectors"] if c["VpcConnectorArn"] == "'"$vc"'"])')
	[[ $n == 1 ]] && ok "vpc: list-vpc-connectors" || fail "vpc: list-vpc-connectors: $n"
	local src='{"ImageRepository":{"ImageIdentifier":"127.0.0.1:1/cli/missing:1","ImageRepositoryType":"ECR","ImageConfiguration":{"Port":"8080"}},"AutoDeploymentsEnabled":false}'
	svc=$("${ar[@]}" create-service --service-name "$name" --source-configuration "$src" \
		--network-configuration "{\"EgressConfiguration\":{\"EgressType\":\"VPC\",\"VpcConnectorArn\":\"$vc\"},\"IngressConfiguration\":{\"IsPubliclyAccessible\":false}}" |
		json 'd["Service"]["ServiceArn"]')
	expect_error InvalidRequestException "${ar[@]}" delete-vpc-connector --vpc-connector-arn "$vc"

	out=$("${ar[@]}" create-vpc-ingress-connection --vpc-ingress-connection-name "$name" --service-arn "$svc" \
		--ingress-vpc-configuration "VpcId=vpc-cli-missing-$$,VpcEndpointId=vpce-$$")
	ic=$(json 'd["VpcIngressConnection"]["VpcIngressConnectionArn"]' <<<"$out")
	[[ $(json 'd["VpcIngressConnection"]["Status"]' <<<"$out") == PENDING_CREATION ]] && ok "vpc: create-vpc-ingress-connection: PENDING_CREATION" || fail "vpc: create-vpc-ingress-connection: $out"
	n=$("${ar[@]}" list-vpc-ingress-connections --filter "ServiceArn=$svc" | json '",".join(c["VpcIngressConnectionArn"] for c in d["VpcIngressConnectionSummaryList"])')
	[[ $n == "$ic" ]] && ok "vpc: list-vpc-ingress-connections --filter ServiceArn" || fail "vpc: list-vpc-ingress-connections: $n"
	ingress_status() {
		for _ in $(seq 300); do
			status=$("${ar[@]}" describe-vpc-ingress-connection --vpc-ingress-connection-arn "$ic" | json 'd["VpcIngressConnection"]["Status"]')
			[[ $status != PENDING_* ]] && return
			sleep 0.2
		done
	}
	ingress_status
	[[ $status == FAILED_CREATION ]] && ok "vpc: on a missing VPC network: FAILED_CREATION" || fail "vpc: ingress status $status"
	status=$("${ar[@]}" delete-vpc-ingress-connection --vpc-ingress-connection-arn "$ic" | json 'd["VpcIngressConnection"]["Status"]')
	[[ $status == PENDING_DELETION ]] && ok "vpc: delete-vpc-ingress-connection: PENDING_DELETION" || fail "vpc: delete-vpc-ingress-connection: $status"
	ingress_status
	[[ $status == DELETED ]] && ok "vpc: then DELETED" || fail "vpc: after delete: $status"
	expect_error InvalidStateException "${ar[@]}" delete-vpc-ingress-connection --vpc-ingress-connection-arn "$ic"

	for _ in $(seq 300); do
		status=$("${ar[@]}" describe-service --service-arn "$svc" | json 'd["Service"]["Status"]')
		[[ $status != OPERATION_IN_PROGRESS ]] && break
		sleep 0.2
	done
	"${ar[@]}" delete-service --service-arn "$svc" >/dev/null
	for _ in $(seq 300); do
		status=$("${ar[@]}" describe-service --service-arn "$svc" | json 'd["Service"]["Status"]')
		[[ $status == DELETED ]] && break
		sleep 0.2
	done
	status=$("${ar[@]}" delete-vpc-connector --vpc-connector-arn "$vc" | json 'd["VpcConnector"]["Status"]')
	[[ $status == INACTIVE ]] && ok "vpc: delete-vpc-connector: INACTIVE" || fail "vpc: delete-vpc-connector: $status"
	status=$("${ar[@]}" describe-vpc-connector --vpc-connector-arn "$vc" | json 'd["VpcConnector"]["Status"]')
	[[ $status == INACTIVE ]] && ok "vpc: describe-vpc-connector after delete: INACTIVE" || fail "vpc: describe after delete: $status"
}

suite flag
AWS_ENDPOINT_URL_APPRUNNER=$url suite env
autoscaling
vpc
observability
services
secrets flag
AWS_ENDPOINT_URL_SECRETS_MANAGER=$url AWS_ENDPOINT_URL_SSM=$url AWS_ENDPOINT_URL_APPRUNNER=$url secrets env
source_service

echo "cli: $passed passed, $failed failed"
[[ $failed == 0 ]]
