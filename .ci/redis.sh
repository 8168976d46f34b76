#!/usr/bin/env bash
# Makes sure a Redis answers on REDIS_ADDR (default 127.0.0.1:6379): if none
# does, starts a throwaway one there (no persistence), installing
# redis-server with apt-get first when it is missing. The tests need it;
# `make test` (the README's test command, and so CI) runs this first.
set -euo pipefail

REDIS_ADDR="${REDIS_ADDR:-127.0.0.1:6379}"
host="${REDIS_ADDR%:*}"
port="${REDIS_ADDR##*:}"

# PING over bash's /dev/tcp: redis-cli may not be installed yet.
redis_answers() {
	(
		exec 3<>"/dev/tcp/${host}/${port}" || exit 1
		printf 'PING\r\n' >&3
		IFS= read -r -t 2 reply <&3 || exit 1
		[[ "$reply" == +PONG* ]]
	) 2>/dev/null
}

redis_answers && exit 0
if ! command -v redis-server >/dev/null; then
	echo "redis.sh: installing redis-server" >&2
	sudo_cmd=""
	if [[ "$(id -u)" != 0 ]]; then sudo_cmd="sudo"; fi
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq redis-server >/dev/null
fi
echo "redis.sh: starting a throwaway redis-server on ${REDIS_ADDR}" >&2
redis-server --daemonize yes --port "$port" --bind "$host" --save "" --appendonly no
for _ in $(seq 1 50); do
	redis_answers && exit 0
	sleep 0.1
done
echo "redis.sh: redis-server did not answer on ${REDIS_ADDR}" >&2
exit 1
