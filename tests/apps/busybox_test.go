package apps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// busyboxData is a directory copied into the image at /data and used as
// the working directory natively and in the guest, so that file names in
// the output agree.
func busyboxData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var nums strings.Builder
	for i := 0; i < 50; i++ {
		nums.WriteString(strings.TrimLeft(string(rune('0'+(i*37)%50/10))+string(rune('0'+(i*37)%10)), "0") + "\n")
	}
	os.WriteFile(filepath.Join(dir, "nums.txt"), []byte(nums.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "words.txt"), []byte("b\na\nb\nc\na\na\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("in sub\n"), 0o644)
	return dir
}

// The same busybox binary (Debian's busybox-static) runs on the host and
// under gosv; stdout and status must match.
func TestBusybox(t *testing.T) {
	const bb = "/bin/busybox"
	data := busyboxData(t)
	for _, args := range [][]string{
		{"echo", "hello", "world"},
		{"cat", "words.txt"},
		{"wc", "nums.txt", "words.txt"},
		{"sort", "-n", "nums.txt"},
		{"sort", "-r", "words.txt"},
		{"uniq", "-c", "words.txt"},
		{"head", "-3", "nums.txt"},
		{"tail", "-2", "nums.txt"},
		{"md5sum", "nums.txt", "words.txt"},
		{"sha256sum", "nums.txt"},
		{"ls", "-1", "sub"},
		{"stat", "-c", "%n %s %a %U %G %F", "sub/f", "words.txt"},
		{"stat", "-c", "%n %a %U %F", "sub"}, // directory sizes differ (tmpfs vs the host fs)
		{"env"},
		{"sh", "-c", `x=5; echo $((x*7)); for w in a b c; do printf '%s-' $w; done; echo; [ -d sub ] && echo dir; test -f nope || echo no`},
		{"mkdir", "sub"},  // exists: an error and status 1
		{"rm", "missing"}, // an error and status 1
		{"mkdir", "-p", "new/deep"},
		{"cp", "-r", "sub", "sub2"},
		{"mv", "words.txt", "moved.txt"},
		{"rm", "-r", "sub"},
		{"false"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			work := t.TempDir()
			os.CopyFS(work, os.DirFS(data))
			want := native(t, work, bb, bb, args...)
			got := guest(t, []string{"--copy", data + ":/data", "--cwd", "/data"}, bb, args...)
			if got.stdout != want.stdout || got.status != want.status {
				t.Errorf("native (status %d):\n%s\ngosv (status %d):\n%s\ngosv stderr:\n%s", want.status, want.stdout, got.status, got.stdout, got.stderr)
			}
		})
	}
}

// Commands whose output legitimately differs from the host: check shape.
func TestBusyboxShape(t *testing.T) {
	const bb = "/bin/busybox"
	r := guest(t, nil, bb, "ls", "-la", "/")
	for _, name := range []string{"busybox", "dev", "proc", "tmp"} {
		if !regexp.MustCompile(`(?m) ` + name + `$`).MatchString(r.stdout) {
			t.Errorf("ls -la / lacks %s:\n%s", name, r.stdout)
		}
	}
	r = guest(t, nil, bb, "uname", "-a")
	if r.status != 0 || !regexp.MustCompile(`^Linux \S+ \S+ .* x86_64`).MatchString(r.stdout) {
		t.Errorf("uname -a: status %d %q", r.status, r.stdout)
	}
	t0 := time.Now()
	r = guest(t, nil, bb, "sleep", "0.2")
	if r.status != 0 || time.Since(t0) < 200*time.Millisecond {
		t.Errorf("sleep 0.2: status %d after %v", r.status, time.Since(t0))
	}
}
