package ext4img

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/initrd"
)

func needTools(t *testing.T) {
	for _, n := range []string{"mke2fs", "debugfs", "e2fsck"} {
		if _, err := tool(n); err != nil {
			t.Skip(err)
		}
	}
}

// hostFiles makes host files for the entries and returns the entries.
func hostFiles(t *testing.T) []initrd.Entry {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe := write("exe", bytes.Repeat([]byte("\x7fELF"), 3000), 0o755)
	lib := write("lib", bytes.Repeat([]byte("L"), 100000), 0o644)
	small := write("small", []byte("hi\n"), 0o600)
	// Host times and owners must not reach the image.
	os.Chtimes(exe, time.Unix(1e9, 5), time.Unix(1.5e9, 7))
	os.Chown(lib, 1234, 5678)
	entries := []initrd.Entry{
		{GuestPath: "/usr/bin/app", HostPath: exe},
		{GuestPath: "/usr/lib/x86_64-linux-gnu/libz.so.1", HostPath: lib},
		{GuestPath: "/etc/motd", HostPath: small, Mode: 0o644},
		{GuestPath: "/bin", Symlink: "usr/bin"},
		{GuestPath: "/lib64/ld.so", Symlink: strings.Repeat("../", 30) + "usr/lib/ld-linux-x86-64.so.2"},
		{GuestPath: "/tmp", Dir: true, Mode: fs.ModeSticky | 0o777},
		{GuestPath: "/usr/sbin/su", HostPath: exe, Mode: fs.ModeSetuid | 0o755},
		{GuestPath: "/ro", Dir: true, Mode: 0o555},
		{GuestPath: "/ro/file", HostPath: small},
		{GuestPath: `/odd "name" with spaces`, HostPath: small},
	}
	for i := 0; i < 3000; i++ {
		entries = append(entries, initrd.Entry{GuestPath: fmt.Sprintf("/usr/lib/python3/mod%04d.py", i), HostPath: small})
	}
	return entries
}

func debugfs(t *testing.T, img, req string) string {
	p, _ := tool("debugfs")
	out, err := exec.Command(p, "-R", req, img).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs %s: %v\n%s", req, err, out)
	}
	return string(out)
}

func TestWriteReproducible(t *testing.T) {
	needTools(t)
	entries := hostFiles(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	if err := Write(a, entries, Options{Label: "gosv-root"}); err != nil {
		t.Fatal(err)
	}
	// The same entries in another order, another staging place, a
	// second later: the same bytes.
	rev := append([]initrd.Entry(nil), entries...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for _, e := range entries {
		if e.HostPath != "" {
			now := time.Now()
			os.Chtimes(e.HostPath, now, now)
		}
	}
	if err := Write(b, rev, Options{Label: "gosv-root", TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		n := 0
		for i := range da {
			if i < len(db) && da[i] != db[i] {
				if n < 10 {
					t.Errorf("byte %#x: %#02x vs %#02x", i, da[i], db[i])
				}
				n++
			}
		}
		t.Fatalf("images differ (%d and %d bytes, %d bytes differ)", len(da), len(db), n)
	}
	if err := Check(a); err != nil {
		t.Fatal(err)
	}

	// What the files look like inside.
	for path, want := range map[string][]string{
		"/usr/bin/app":                        {"Mode:  0755", "User:     0   Group:     0", "Size: 12000"},
		"/usr/lib/x86_64-linux-gnu/libz.so.1": {"Mode:  0644", "User:     0   Group:     0", "Size: 100000"},
		"/usr/sbin/su":                        {"Mode:  04755"},
		"/etc/motd":                           {"Mode:  0644", "Size: 3"},
		"/tmp":                                {"Type: directory", "Mode:  01777"},
		"/ro":                                 {"Mode:  0555"},
		"/bin":                                {"Type: symlink", `Fast link dest: "usr/bin"`},
		"/lib64":                              {"Type: directory", "Mode:  0755"},
		"/usr/lib/python3":                    {"Flags: 0x81000"}, // extents, htree index
		`/odd "name" with spaces`:             {"Size: 3"},
	} {
		out := debugfs(t, a, "stat "+quote(path))
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in\n%s", path, w, out)
			}
		}
		for _, tm := range []string{"ctime", "atime", "mtime", "crtime"} {
			if !strings.Contains(out, tm+": 0x00000001:00000000") {
				t.Errorf("%s: %s is not 1:\n%s", path, tm, out)
			}
		}
	}
	if out := debugfs(t, a, "cat /usr/lib/python3/mod2999.py"); !strings.Contains(out, "hi\n") {
		t.Errorf("cat: %q", out)
	}
	sb := debugfs(t, a, "stats")
	for _, w := range []string{"Filesystem UUID:          " + DefaultUUID, "Directory Hash Seed:      " + DefaultUUID,
		"Filesystem volume name:   gosv-root", "Block size:               4096",
		"features:      ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum"} {
		if !strings.Contains(sb, w) {
			t.Errorf("superblock: no %q", w)
		}
	}
}

func TestWriteSourceDateEpoch(t *testing.T) {
	needTools(t)
	small := filepath.Join(t.TempDir(), "f")
	os.WriteFile(small, []byte("x"), 0o644)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	img := filepath.Join(t.TempDir(), "i.img")
	if err := Write(img, []initrd.Entry{{GuestPath: "/f", HostPath: small}}, Options{}); err != nil {
		t.Fatal(err)
	}
	if out := debugfs(t, img, "stat /f"); !strings.Contains(out, "mtime: 0x6553f100:00000000") {
		t.Errorf("mtime not SOURCE_DATE_EPOCH:\n%s", out)
	}
	if err := Check(img); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrors(t *testing.T) {
	needTools(t)
	img := filepath.Join(t.TempDir(), "i.img")
	for _, c := range []struct {
		entries []initrd.Entry
		want    string
	}{
		{[]initrd.Entry{{GuestPath: "/f", HostPath: "/nonexistent/file"}}, "/nonexistent/file"},
		{[]initrd.Entry{{GuestPath: "/f"}}, "/f: no host file"},
		{[]initrd.Entry{{GuestPath: "/a\nb", Symlink: "x"}}, "control characters"},
		{[]initrd.Entry{{GuestPath: "/d", Dir: true}, {GuestPath: "/d/", Dir: true}}, "duplicate"},
		{[]initrd.Entry{{GuestPath: "/l", Symlink: "x"}, {GuestPath: "/l/f", Symlink: "y"}}, "/l/f: parent /l"},
	} {
		err := Write(img, c.entries, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.entries, err, c.want)
		}
	}
	small := filepath.Join(t.TempDir(), "f")
	os.WriteFile(small, bytes.Repeat([]byte("not zeros"), 400000), 0o644) // zeros would become a hole
	err := Write(img, []initrd.Entry{{GuestPath: "/f", HostPath: small}}, Options{Size: 2 << 20})
	if err == nil || !strings.Contains(err.Error(), "too small") {
		t.Errorf("too small an image: %v", err)
	}
	if _, err := os.Stat(img); !os.IsNotExist(err) {
		t.Errorf("a failed Write left %s", img)
	}
}

// The root disk of a real app: python3 with its standard library, from the
// entries image.Build puts in the initrd.
func TestWriteAppImage(t *testing.T) {
	needTools(t)
	if testing.Short() {
		t.Skip("copies the Python standard library")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	im, err := image.Build(image.Options{Exe: "/usr/bin/python3", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	img := filepath.Join(t.TempDir(), "root.img")
	if err := Write(img, im.Entries, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Check(img); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(img)
	t.Logf("%d files, %d bytes -> image of %d bytes", im.Files, im.Bytes, fi.Size())
	if fi.Size() > im.Bytes*2+16<<20 {
		t.Errorf("image of %d bytes for %d bytes of files", fi.Size(), im.Bytes)
	}
	out := debugfs(t, img, "stat "+quote(im.GuestExe))
	if !strings.Contains(out, "Type: regular") && !strings.Contains(out, "Type: symlink") {
		t.Errorf("%s:\n%s", im.GuestExe, out)
	}
}
