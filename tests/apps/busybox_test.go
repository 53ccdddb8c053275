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

// mount(8) and umount(8) of busybox under gosv. Busybox's sh cannot run
// a script of applets here (it forks for each: gosv runs one process), so
// each applet runs alone and TestMountSequence chains the calls in perl.
func TestBusyboxMount(t *testing.T) {
	const bb = "/bin/busybox"
	r := guest(t, nil, bb, "mount")
	for _, want := range []string{
		"tmpfs on / type tmpfs (rw,relatime)\n",
		"proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\n",
		"sysfs on /sys type sysfs (rw,nosuid,nodev,noexec,relatime)\n",
		"devtmpfs on /dev type devtmpfs (rw,nosuid,relatime,mode=755)\n",
		"tmpfs on /dev/shm type tmpfs (rw,nosuid,nodev,relatime)\n",
	} {
		if r.status != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("mount (status %d) lacks %q:\n%s%s", r.status, want, r.stdout, r.stderr)
		}
	}
	if r := guest(t, nil, bb, "mount", "-t", "tmpfs", "-o", "size=1m", "none", "/tmp"); r.status != 0 {
		t.Errorf("mount -t tmpfs: status %d\n%s", r.status, r.stderr)
	}
	if r := guest(t, nil, bb, "mount", "-t", "nosuchfs", "none", "/tmp"); r.status == 0 {
		t.Errorf("mount -t nosuchfs succeeded")
	}
	if r := guest(t, nil, bb, "umount", "/tmp"); r.status == 0 || !strings.Contains(r.stderr, "Invalid argument") {
		t.Errorf("umount of a directory that is no mount point: status %d\n%s", r.status, r.stderr)
	}
}

// mountScript mounts a tmpfs on /mnt, uses it, remounts it read-only,
// checks that a working directory inside keeps it busy, and unmounts it,
// printing what it sees; the system calls are those of mount(8) and
// umount(8) (mount 165, umount2 166 on x86-64).
const mountScript = `use strict; use warnings;
sub mnt { my ($s, $t, $ty, $fl, $d) = @_; syscall(165, $s, $t, $ty, 0 + $fl, $d) == 0 ? "ok" : "$!" }
sub umnt { my ($t, $fl) = @_; syscall(166, $t, 0 + $fl) == 0 ? "ok" : "$!" }
sub mounts { open(my $m, "<", "/proc/mounts") or die; print grep { m{ /mnt } } <$m>; }
mkdir "/mnt";
print "mount: ", mnt("none", "/mnt", "tmpfs", 0, "size=64k"), "\n";
open(my $f, ">", "/mnt/f") or die "create: $!"; print $f "hi\n"; close $f;
open($f, "<", "/mnt/f") or die; print <$f>; close $f;
mounts();
open($f, ">", "/mnt/big") or die; print "big: ", (print $f ("x" x 100000)) && close($f) ? "ok" : "$!", "\n";
print "remount: ", mnt("none", "/mnt", "", 32 | 1, ""), "\n";
print "write ro: ", (open($f, ">", "/mnt/g") ? "ok" : "$!"), "\n";
mounts();
chdir "/mnt" or die;
print "umount busy: ", umnt("/mnt", 0), "\n";
chdir "/" or die;
open($f, "<", "/mnt/f") or die;
print "umount open: ", umnt("/mnt", 0), "\n";
close $f;
print "umount /tmp: ", umnt("/tmp", 0), "\n";
print "bad type: ", mnt("none", "/mnt", "nosuchfs", 0, ""), "\n";
print "umount: ", umnt("/mnt", 0), "\n";
opendir(my $d, "/mnt") or die; print "left: [", join(" ", grep { !/^\./ } readdir $d), "]\n";
mounts();
`

func TestMountSequence(t *testing.T) {
	r := guest(t, nil, "/usr/bin/perl", "-e", mountScript)
	want := `mount: ok
hi
none /mnt tmpfs rw,relatime,size=64k 0 0
big: No space left on device
remount: ok
write ro: Read-only file system
none /mnt tmpfs ro,relatime,size=64k 0 0
umount busy: Device or resource busy
umount open: Device or resource busy
umount /tmp: Invalid argument
bad type: No such device
umount: ok
left: []
`
	if r.status != 0 || r.stdout != want {
		t.Errorf("status %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.status, r.stdout, want, r.stderr)
	}
}
