#!/usr/bin/env bash
# The architecture's rules that a compiler cannot see (docs/architecture.md): only the store opens
# a connection that writes or begins a transaction; nothing of the controller writes outside the
# writer (write_directly is for tests and offline tools); the gateway never touches a write path.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
check() {  # check "what must hold" <grep output>
    if [ -n "$2" ]; then
        echo "architecture: $1; found:"
        echo "$2"
        failed=1
    fi
}
outside_store() { grep -rnE "$1" controller --include=*.cpp --include=*.hpp | grep -v '^controller/store/'; }
check "only the store opens a connection that writes" "$(outside_store 'OPEN_READWRITE|OPEN_CREATE|open_database\(')"
check "only the store's writer begins, commits or rolls back transactions" \
    "$(outside_store 'SQLite::Transaction|"(BEGIN|COMMIT|ROLLBACK)( |")' | grep -v 'ROLLBACK TO part\|RELEASE part')"
check "no controller code writes outside the writer (write_directly is for tests and tools)" \
    "$(outside_store 'write_directly\(')"
check "the node gateway queues its changes; it never writes itself" \
    "$(grep -rnE 'writer\(\)\.run\(|\.submit\(' controller/gateway)"
check "the schedules engine and the protocol depend on nothing of ours" \
    "$(grep -rnE '#include "loa/(controller|node|media)/' schedules protocol)"
check "the controller and the node never depend on each other" \
    "$(grep -rnE '#include "loa/node/' controller; grep -rnE '#include "loa/controller/' node)"
exit $failed
