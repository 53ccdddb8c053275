package apps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sameHost runs a host program (dynamically linked against glibc) natively
// and under gosv with the same argv and environment, and compares.
func sameHost(t *testing.T, flags []string, cwd string, argv ...string) result {
	t.Helper()
	want := native(t, cwd, argv[0], argv[0], argv[1:]...)
	got := guest(t, flags, argv[0], argv[1:]...)
	if got.stdout != want.stdout || got.status != want.status {
		t.Errorf("%q:\nnative (status %d):\n%s\ngosv (status %d):\n%s\ngosv stderr:\n%s",
			argv, want.status, want.stdout, got.status, got.stdout, got.stderr)
	}
	return got
}

func TestDynamicPrograms(t *testing.T) {
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "words"), []byte("pear\napple\nfig\napple\n"), 0o644)
	os.WriteFile(filepath.Join(data, "nums"), []byte("10\n9\n100\n"), 0o644)
	copyData := []string{"--copy", data + ":/data", "--cwd", "/data"}
	for name, argv := range map[string][]string{
		"hello":     {"/usr/bin/hello"},
		"cat":       {"/bin/cat", "words", "nums"},
		"sort":      {"/usr/bin/sort", "words"},
		"sort -n":   {"/usr/bin/sort", "-n", "nums"},
		"wc":        {"/usr/bin/wc", "words", "nums"},
		"env":       {"/usr/bin/env"},
		"date":      {"/bin/date", "-u", "+%Y"},
		"ls -ln":    {"/bin/ls", "-ln", "--time-style=+", "words", "nums"},
		"dash":      {"/bin/dash", "-c", `x=6; echo $((x*7)); for w in a b; do echo "w=$w"; done; [ -f words ] && echo file`},
		"perl":      {"/usr/bin/perl", "-e", `use strict; use warnings; my %h = (a => 1, b => 2); print join(",", map {"$_=$h{$_}"} sort keys %h), "\n"; printf("%.3f\n", atan2(1, 1) * 4);`},
		"python3":   {"/usr/bin/python3", "-c", pythonProgram},
		"python3 2": {"/usr/bin/python3", "-c", "print(2**100)"},
	} {
		t.Run(name, func(t *testing.T) {
			sameHost(t, copyData, data, argv...)
		})
	}
	for _, prog := range []string{"cxx", "gocgo"} {
		t.Run(prog, func(t *testing.T) { same(t, prog) })
	}
}

const pythonProgram = `import json, hashlib, threading, decimal, sqlite3
print(json.dumps({"a": [1, 2], "b": None}, sort_keys=True))
print(hashlib.sha256(b"gosv").hexdigest())
out = []
ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(out))
decimal.getcontext().prec = 30
print(decimal.Decimal(1) / decimal.Decimal(7))
c = sqlite3.connect(":memory:")
c.execute("create table t(x)")
c.executemany("insert into t values(?)", [(i,) for i in range(10)])
print(c.execute("select sum(x), count(*) from t").fetchone())`

// ls -la /usr/lib lists what the image holds there: the library directory.
func TestLsUsrLib(t *testing.T) {
	r := guest(t, nil, "/bin/ls", "-la", "/usr/lib")
	if r.status != 0 || !regexp.MustCompile(`(?m) x86_64-linux-gnu$`).MatchString(r.stdout) {
		t.Errorf("status %d\n%s\n%s", r.status, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "Function not implemented") {
		t.Errorf("ls hit an unimplemented call:\n%s", r.stderr)
	}
}
