#!/usr/bin/env bash
# make install into a staging directory (DESTDIR), with the default PREFIX and with PREFIX=/usr:
# exactly the binary, the man page and the documents the man page refers to, each at its place
# and mode, the documents as in docs/, and every document path the man page names installed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
failed=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; failed=1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for prefix in /usr/local /usr; do
	dest=$stage/${prefix//\//_}
	args=(DESTDIR="$dest")
	[ "$prefix" = /usr/local ] || args+=(PREFIX="$prefix")
	if ! out=$(make --no-print-directory install "${args[@]}" 2>&1); then
		fail "make install ${args[*]} exits 0: $out"
		continue
	fi
	pass "make install ${args[*]} exits 0"
	root=$dest$prefix
	doc=$prefix/share/doc/vmfw

	want=$(printf '%s\n' sbin/vmfwctl share/man/man8/vmfwctl.8 share/doc/vmfw/policy.md \
		share/doc/vmfw/architecture.md share/doc/vmfw/metrics.md share/doc/vmfw/performance.md \
		share/doc/vmfw/performance.png | sort)
	got=$(cd "$dest" && find . -type f | sed "s|^\./${prefix#/}/||" | sort)
	if [ "$got" = "$want" ]; then
		pass "PREFIX=$prefix: exactly vmfwctl, its man page and the 5 documents: $(echo "$got" | tr '\n' ' ')"
	else
		fail "PREFIX=$prefix: installed files (wanted: $(echo "$want" | tr '\n' ' '); got: $(echo "$got" | tr '\n' ' '))"
	fi

	check_mode() {
		local file=$1 mode=$2 m
		m=$(stat -c %a "$root/$file" 2>/dev/null)
		if [ "$m" = "$mode" ]; then
			pass "PREFIX=$prefix: $file has mode $mode"
		else
			fail "PREFIX=$prefix: $file has mode ${m:-missing}, wanted $mode"
		fi
	}
	check_mode sbin/vmfwctl 755
	check_mode share/man/man8/vmfwctl.8 644
	for f in policy.md architecture.md metrics.md performance.md performance.png; do
		check_mode "share/doc/vmfw/$f" 644
		if cmp -s "docs/$f" "$root/share/doc/vmfw/$f"; then
			pass "PREFIX=$prefix: share/doc/vmfw/$f is docs/$f"
		else
			fail "PREFIX=$prefix: share/doc/vmfw/$f differs from docs/$f"
		fi
	done

	# The man page sends readers to the installed documents, at this PREFIX.
	man=$root/share/man/man8/vmfwctl.8
	named=$(grep -o '/[a-z/]*share/doc/vmfw/[a-z]*\.md' "$man" | sort -u)
	if [ -z "$named" ]; then
		fail "PREFIX=$prefix: the man page names no document under $doc"
	fi
	for path in $named; do
		case $path in
		"$doc"/*)
			if [ -f "$dest$path" ]; then
				pass "PREFIX=$prefix: the man page names $path, which is installed"
			else
				fail "PREFIX=$prefix: the man page names $path, which is not installed"
			fi
			;;
		*) fail "PREFIX=$prefix: the man page names $path, outside $doc" ;;
		esac
	done
	if out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man" 2>&1 >/dev/null) && [ -z "$out" ]; then
		pass "PREFIX=$prefix: the installed man page renders without warnings"
	else
		fail "PREFIX=$prefix: man -l on the installed man page: $out"
	fi
	if "$root/sbin/vmfwctl" --help >/dev/null 2>&1; then
		pass "PREFIX=$prefix: the installed vmfwctl runs (--help exits 0)"
	else
		fail "PREFIX=$prefix: the installed vmfwctl --help fails"
	fi
done
exit "$failed"
