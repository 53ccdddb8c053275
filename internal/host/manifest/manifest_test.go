package manifest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/gosv/gosv/internal/host/initrd"
)

func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
	}{
		{"/app/prog: build/prog", Entry{Guest: "/app/prog", Host: "build/prog"}},
		{"  /app/prog:\tbuild/prog  ", Entry{Guest: "/app/prog", Host: "build/prog"}},
		{"/a//b/../c/: /host/c\r", Entry{Guest: "/a/c", Host: "/host/c"}},
		{"/usr/lib/x.so: &", Entry{Guest: "/usr/lib/x.so", Host: "/usr/lib/x.so"}},
		{"/usr/lib/&/libz.so.1: /lib/x86_64-linux-gnu/&", Entry{Guest: "/usr/lib/libz.so.1", Host: "/lib/x86_64-linux-gnu/libz.so.1"}},
		{"/&/etc/hosts: ../../static/&", Entry{Guest: "/etc/hosts", Host: "../../static/etc/hosts"}},
		{"/etc/mnttab: ->/proc/mounts", Entry{Guest: "/etc/mnttab", Symlink: "/proc/mounts"}},
		{"/lib/libc.so: -> libc.so.6", Entry{Guest: "/lib/libc.so", Symlink: "libc.so.6"}},
		{"/data/**: testdata/**", Entry{Guest: "/data", Host: "testdata", Tree: true}},
		{"/**: /srv/root/**", Entry{Guest: "/", Host: "/srv/root", Tree: true}},
		{"/opt/app/**: &", Entry{Guest: "/opt/app", Host: "/opt/app", Tree: true}},
		{"/lib/libfoo.so.1: !/usr/lib/libfoo.so.1", Entry{Guest: "/lib/libfoo.so.1", Host: "/usr/lib/libfoo.so.1", NoFollow: true}},
		{"/dir:with:colons: /host:path", Entry{Guest: "/dir:with:colons", Host: "/host:path"}},
		{"/tmp: some/dir", Entry{Guest: "/tmp", Host: "some/dir"}},
	} {
		got, err := Parse(strings.NewReader(tc.line), "t.manifest")
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		tc.want.File, tc.want.Line = "t.manifest", 1
		if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

func TestParseSkipsCommentsAndCountsLines(t *testing.T) {
	src := "# comment\n\n   \t\n[manifest]\n  # indented comment\n/a: b\n\n/c: ->d" // no final newline
	got, err := Parse(strings.NewReader(src), "x.manifest")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Guest: "/a", Host: "b", File: "x.manifest", Line: 6},
		{Guest: "/c", Symlink: "d", File: "x.manifest", Line: 8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, err := Parse(strings.NewReader(""), "empty"); err != nil || len(got) != 0 {
		t.Errorf("empty manifest: %v %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ line, err string }{
		{"/a/b", "missing ':' between guest and host path"},
		{"/a:/b", "missing ':' between guest and host path"},
		{"/a:", "missing host path after ':'"},
		{"/a:   ", "missing host path after ':'"},
		{": /b", "missing guest path before ':'"},
		{"a/b: /b", `guest path "a/b" is not absolute`},
		{"/a: %(libdir)s/x", "variables such as %(name)s are not supported"},
		{"/a: ->", "missing symlink target after '->'"},
		{"/a/**: ->b", "a symlink line takes a plain guest path"},
		{"/a: !", "missing host path after '!'"},
		{"/a/&/b: /x/y", "guest path has '/&/' but the host path does not end in '/&'"},
		{"/a/b: /x/&", "host path ends in '/&' but the guest path has no '/&/'"},
		{"/a/&/: /x/&", "bad path after '/&/' in the guest path"},
		{"/a/**: /x", "a tree needs '/**' at the end of both guest and host paths"},
		{"/a: /x/**", "a tree needs '/**' at the end of both guest and host paths"},
		{"/a/**: !/x/**", "'!' does not apply to a tree"},
		{"/a/*: /x/*", "only a trailing '/**' wildcard is supported"},
		{"/a/*.so: /x/*.so", "only a trailing '/**' wildcard is supported"},
		{"/a\x00b: /x", "NUL byte in line"},
	} {
		src := "# header\n\n" + tc.line + "\n/ok: fine\n"
		_, err := Parse(strings.NewReader(src), "app.manifest")
		want := "app.manifest:3: " + tc.err
		if err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %s", tc.line, err, want)
		}
	}
}

func TestParseFileTestdata(t *testing.T) {
	entries, err := ParseFile("testdata/app.manifest")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Guest: "/app/prog.txt", Host: "testdata/app/prog.txt", Line: 4},
		{Guest: "/etc/app.conf", Host: "testdata/app/etc/app.conf", Line: 5},
		{Guest: "/usr/share/app", Host: "testdata/app/share", Tree: true, Line: 6},
		{Guest: "/etc/mtab", Symlink: "/proc/mounts", Line: 7},
	}
	for i := range want {
		want[i].File = "testdata/app.manifest"
	}
	if !reflect.DeepEqual(entries, want) {
		t.Fatalf("got  %+v\nwant %+v", entries, want)
	}
	got, err := Expand(entries)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []initrd.Entry{
		{GuestPath: "/app/prog.txt", HostPath: "testdata/app/prog.txt"},
		{GuestPath: "/etc/app.conf", HostPath: "testdata/app/etc/app.conf"},
		{GuestPath: "/etc/mtab", Symlink: "/proc/mounts"},
		{GuestPath: "/usr/share/app", HostPath: "testdata/app/share", Dir: true},
		{GuestPath: "/usr/share/app/doc", HostPath: "testdata/app/share/doc", Dir: true},
		{GuestPath: "/usr/share/app/doc/README", HostPath: "testdata/app/share/doc/README"},
	}
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("Expand:\ngot  %+v\nwant %+v", got, wantOut)
	}
	if err := initrd.Write(&bytes.Buffer{}, got); err != nil {
		t.Errorf("initrd.Write: %v", err)
	}
	if _, err := ParseFile("testdata/nonexistent.manifest"); err == nil {
		t.Errorf("ParseFile of a missing file succeeded")
	}
}

// hostTree builds:
//
//	H/tree/a.txt
//	H/tree/sub/b.txt
//	H/tree/sub/empty/            (empty directory)
//	H/tree/sub/rel -> ../a.txt   (inside the tree: kept)
//	H/tree/abs -> H/outside.txt  (outside: the file)
//	H/tree/linkdir -> H/extdir   (outside: the directory, copied)
//	H/outside.txt, H/extdir/c.txt, H/link.txt -> outside.txt
func hostTree(t *testing.T) string {
	h := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(h+"/tree/sub/empty", 0o755))
	must(os.MkdirAll(h+"/extdir", 0o700))
	for p, c := range map[string]string{
		"tree/a.txt": "a", "tree/sub/b.txt": "b", "outside.txt": "out", "extdir/c.txt": "c",
	} {
		must(os.WriteFile(filepath.Join(h, p), []byte(c), 0o644))
	}
	must(os.Symlink("../a.txt", h+"/tree/sub/rel"))
	must(os.Symlink(h+"/outside.txt", h+"/tree/abs"))
	must(os.Symlink(h+"/extdir", h+"/tree/linkdir"))
	must(os.Symlink("outside.txt", h+"/link.txt"))
	return h
}

func TestExpandForms(t *testing.T) {
	h := hostTree(t)
	src := fmt.Sprintf(`/t/**: %[1]s/tree/**
/f: %[1]s/link.txt
/keep: !%[1]s/link.txt
/plain: !%[1]s/outside.txt
/emptydir: %[1]s/extdir
/s: ->target
%[1]s/outside.txt: &
`, h)
	entries, err := Parse(strings.NewReader(src), "m")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Expand(entries)
	if err != nil {
		t.Fatal(err)
	}
	want := []initrd.Entry{
		{GuestPath: "/emptydir", HostPath: h + "/extdir", Dir: true},
		{GuestPath: "/f", HostPath: h + "/link.txt"},
		{GuestPath: "/keep", Symlink: "outside.txt"},
		{GuestPath: "/plain", HostPath: h + "/outside.txt"},
		{GuestPath: "/s", Symlink: "target"},
		{GuestPath: "/t", HostPath: h + "/tree", Dir: true},
		{GuestPath: "/t/a.txt", HostPath: h + "/tree/a.txt"},
		{GuestPath: "/t/abs", HostPath: h + "/tree/abs"},
		{GuestPath: "/t/linkdir", HostPath: h + "/tree/linkdir", Dir: true},
		{GuestPath: "/t/linkdir/c.txt", HostPath: h + "/tree/linkdir/c.txt"},
		{GuestPath: "/t/sub", HostPath: h + "/tree/sub", Dir: true},
		{GuestPath: "/t/sub/b.txt", HostPath: h + "/tree/sub/b.txt"},
		{GuestPath: "/t/sub/empty", HostPath: h + "/tree/sub/empty", Dir: true},
		{GuestPath: "/t/sub/rel", Symlink: "../a.txt"},
		{GuestPath: h + "/outside.txt", HostPath: h + "/outside.txt"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Expand:\n%s\nwant:\n%s", dump(got), dump(want))
	}
	var buf bytes.Buffer
	if err := initrd.Write(&buf, got); err != nil {
		t.Errorf("initrd.Write: %v", err)
	}
}

func dump(es []initrd.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %+v\n", e)
	}
	return b.String()
}

// A later line for the same guest path wins, as in OSv.
func TestExpandOverride(t *testing.T) {
	h := hostTree(t)
	src := fmt.Sprintf("/t/**: %[1]s/tree/**\n/t/a.txt: %[1]s/outside.txt\n/t/sub/rel: ->elsewhere\n", h)
	entries, err := Parse(strings.NewReader(src), "m")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Expand(entries)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range got {
		switch e.GuestPath {
		case "/t/a.txt":
			found++
			if e.HostPath != h+"/outside.txt" {
				t.Errorf("/t/a.txt from %s", e.HostPath)
			}
		case "/t/sub/rel":
			found++
			if e.Symlink != "elsewhere" {
				t.Errorf("/t/sub/rel -> %s", e.Symlink)
			}
		}
	}
	if found != 2 {
		t.Errorf("entries: %s", dump(got))
	}
}

func TestExpandErrors(t *testing.T) {
	h := hostTree(t)
	if err := os.Symlink(h+"/nowhere", h+"/dangling"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(h+"/bad", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h+"/nowhere", h+"/bad/dangling"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(h+"/loop/x", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h+"/loop", h+"/loop/x/up"); err != nil {
		t.Fatal(err)
	}
	fifoDir := h + "/fifo"
	if err := os.MkdirAll(fifoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifoDir+"/p", 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, err string }{
		{"/x: " + h + "/missing", h + "/missing: no such file or directory"},
		{"/x: " + h + "/dangling", h + "/dangling: no such file or directory"},
		{"/x: !" + h + "/missing", h + "/missing: no such file or directory"},
		{"/x/**: " + h + "/missing/**", h + "/missing: no such file or directory"},
		{"/x/**: " + h + "/outside.txt/**", h + "/outside.txt: not a directory"},
		{"/x/**: " + h + "/bad/**", h + "/bad/dangling: symlink to " + h + "/nowhere: no such file or directory"},
		{"/x/**: " + h + "/loop/**", h + "/loop/x/up: symlink loop (" + h + "/loop)"},
		{"/x/**: " + h + "/fifo/**", h + "/fifo/p: not a regular file, directory or symlink (p---------)"},
		{"/x: " + h + "/fifo/p", h + "/fifo/p: not a regular file or directory (p---------)"},
		{"/: " + h + "/outside.txt", h + "/outside.txt: the guest root must be a directory"},
	} {
		entries, err := Parse(strings.NewReader("# c\n"+tc.line+"\n"), "app.manifest")
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		_, err = Expand(entries)
		want := "app.manifest:2: " + tc.err
		if err == nil || err.Error() != want {
			t.Errorf("%q: error\n%v\nwant\n%s", tc.line, err, want)
		}
	}
	// Entries built in code (no file) give errors without a location.
	_, err := Expand([]Entry{{Guest: "relative", Host: "x"}})
	if err == nil || err.Error() != `guest path "relative" is not absolute` {
		t.Errorf("error %v", err)
	}
}
