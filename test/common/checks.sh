# Shared helpers of the shell test scripts (test/**/*.test.sh); source it
# after `pass=0 fail=0`. check counts into pass / fail and prints one line
# per check; the script prints its own UT-RESULT line from the counts.

# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
		echo "  ok   $name"
	else
		fail=$((fail + 1))
		echo "  FAIL $name"
	fi
}
# has TEXT NEEDLE: TEXT contains NEEDLE (a fixed string); lacks: it does not.
has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! has "$@"; }
# file_is PATH WANT: the file $R/PATH (R: the script's fake root) holds exactly WANT.
file_is() { [ "$(cat "$R/$1" 2>/dev/null)" = "$2" ]; }
