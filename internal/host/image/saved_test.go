package image

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gosv/gosv/internal/host/qemu"
)

func TestSaveLoad(t *testing.T) {
	dir := realTempDir(t)
	kernel := writeFile(t, filepath.Join(dir, "k.elf"), []byte("\x7fELF kernel"), 0o644)
	exe := writeFile(t, filepath.Join(dir, "hello"), makeELF(elfOpts{}), 0o755)
	meta := Meta{Version: FormatVersion, Memory: "256M", CPUs: 2, Net: "user", Ports: []string{"8080:80/tcp", "127.0.0.1:5353:53/udp"}, App: "/hello", Files: 1, Bytes: 121, CreatedBy: "gosv test"}
	cmdline := qemu.QuoteCmdline([]string{"--env=A=b c", "/hello", "x y"})

	for _, out := range []string{filepath.Join(dir, "img") + "/", filepath.Join(dir, "img.tar"), filepath.Join(dir, "plain")} {
		t.Run(filepath.Base(out), func(t *testing.T) {
			im, err := Build(Options{Exe: exe, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Remove()
			initrd, _ := os.ReadFile(im.Initrd)
			if err := CheckOutput(out); err != nil {
				t.Fatal(err)
			}
			if err := Save(out, Saved{Kernel: kernel, Initrd: im.Initrd, Cmdline: cmdline, Meta: meta}); err != nil {
				t.Fatal(err)
			}
			wantTar := !strings.HasSuffix(out, "/")
			if fi, err := os.Stat(out); err != nil || fi.IsDir() == wantTar {
				t.Fatalf("%s: %v, %v", out, fi, err)
			}
			if !IsSaved(out) {
				t.Errorf("IsSaved(%s) = false", out)
			}
			if wantTar {
				// gosv-image.json first, then cmdline, kernel.elf, initrd.cpio.
				f, _ := os.Open(out)
				tr := tar.NewReader(f)
				var names []string
				for {
					h, err := tr.Next()
					if err != nil {
						break
					}
					names = append(names, h.Name)
				}
				f.Close()
				if want := []string{MetaFile, CmdlineFile, KernelFile, InitrdFile}; !slices.Equal(names, want) {
					t.Errorf("tar members %q, want %q", names, want)
				}
			} else {
				b, _ := os.ReadFile(filepath.Join(out, CmdlineFile))
				if string(b) != cmdline+"\n" {
					t.Errorf("cmdline file %q", b)
				}
				var m Meta
				b, _ = os.ReadFile(filepath.Join(out, MetaFile))
				if err := json.Unmarshal(b, &m); err != nil || !reflect.DeepEqual(m, meta) {
					t.Errorf("%s: %s (%v)", MetaFile, b, err)
				}
			}
			l, err := Load(out, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Meta, meta) || l.Cmdline != cmdline {
				t.Errorf("loaded %+v %q", l.Meta, l.Cmdline)
			}
			if b, _ := os.ReadFile(l.Kernel); string(b) != "\x7fELF kernel" {
				t.Errorf("kernel %q", b)
			}
			if b, _ := os.ReadFile(l.Initrd); string(b) != string(initrd) {
				t.Errorf("initrd differs (%d bytes, want %d)", len(b), len(initrd))
			}
			if err := l.Close(); err != nil {
				t.Error(err)
			}
			if wantTar {
				if _, err := os.Stat(l.Kernel); !os.IsNotExist(err) {
					t.Errorf("extracted kernel not removed: %v", err)
				}
			}
			// Saving again over the image replaces it.
			if err := Save(out, Saved{Kernel: kernel, Cmdline: "--selftest", Meta: meta}); err != nil {
				t.Fatal(err)
			}
			l, err = Load(out, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.Initrd != "" || l.Cmdline != "--selftest" {
				t.Errorf("after a second save: initrd %q, cmdline %q", l.Initrd, l.Cmdline)
			}
		})
	}
	// No leftovers next to the outputs.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "gosv-initrd-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestSaveLoadErrors(t *testing.T) {
	dir := realTempDir(t)
	kernel := writeFile(t, filepath.Join(dir, "k.elf"), []byte("k"), 0o644)
	busy := filepath.Join(dir, "busy")
	writeFile(t, filepath.Join(busy, "other"), []byte("x"), 0o644)
	if err := CheckOutput(busy); err == nil || !strings.Contains(err.Error(), "not empty and holds no gosv image") {
		t.Errorf("CheckOutput(busy) = %v", err)
	}
	if err := Save(busy, Saved{Kernel: kernel, Meta: Meta{Version: 1}}); err == nil {
		t.Errorf("Save into a busy directory succeeded")
	}
	if IsSaved(busy) || IsSaved(kernel) || IsSaved(filepath.Join(dir, "none")) {
		t.Errorf("IsSaved accepts what is not an image")
	}
	if err := Save(filepath.Join(dir, "x.tar"), Saved{Kernel: filepath.Join(dir, "nokernel"), Meta: Meta{Version: 1}}); err == nil {
		t.Errorf("Save without a kernel succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); !os.IsNotExist(err) {
		t.Errorf("a failed save left x.tar: %v", err)
	}

	// Versions.
	img := filepath.Join(dir, "img") + "/"
	if err := Save(img, Saved{Kernel: kernel, Meta: Meta{Version: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(img, ""); err == nil || !strings.Contains(err.Error(), "format version 2 is newer") {
		t.Errorf("Load(v2) = %v", err)
	}
	os.WriteFile(filepath.Join(img, MetaFile), []byte(`{"memory":"1G"}`), 0o644)
	if _, err := Load(img, ""); err == nil || !strings.Contains(err.Error(), "no format version") {
		t.Errorf("Load(no version) = %v", err)
	}
	os.Remove(filepath.Join(img, KernelFile))
	os.WriteFile(filepath.Join(img, MetaFile), []byte(`{"version":1}`), 0o644)
	if _, err := Load(img, ""); err == nil || !strings.Contains(err.Error(), KernelFile) {
		t.Errorf("Load(no kernel) = %v", err)
	}

	// A tar whose first member is the marker, but without a kernel.
	p := filepath.Join(dir, "partial.tar")
	f, _ := os.Create(p)
	tw := tar.NewWriter(f)
	for _, m := range []string{MetaFile, CmdlineFile} {
		tw.WriteHeader(&tar.Header{Name: m, Size: 13, Mode: 0o644, Typeflag: tar.TypeReg})
		io.WriteString(tw, `{"version":1}`)
	}
	tw.Close()
	f.Close()
	if !IsSaved(p) {
		t.Errorf("IsSaved(%s) = false", p)
	}
	if _, err := Load(p, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no kernel.elf in the archive") {
		t.Errorf("Load(partial) = %v", err)
	}
}

func TestSplitCmdline(t *testing.T) {
	for _, words := range [][]string{
		nil,
		{"/hello"},
		{"--env=A=B", "/bin/echo", "a b", `say "hi"`, "", `back\slash`, "tab\there", "new\nline"},
	} {
		got, err := SplitCmdline(qemu.QuoteCmdline(words))
		if err != nil || !reflect.DeepEqual(got, words) {
			t.Errorf("SplitCmdline(QuoteCmdline(%q)) = %q, %v", words, got, err)
		}
	}
	if got, err := SplitCmdline("  a\t\"b c\"  d\n"); err != nil || !slices.Equal(got, []string{"a", "b c", "d"}) {
		t.Errorf("spaces: %q, %v", got, err)
	}
	if _, err := SplitCmdline(`a "b`); err == nil {
		t.Errorf("unterminated quote accepted")
	}
}

func TestEditCmdline(t *testing.T) {
	img := []string{"--verbose", "--env=A=1", "/app", "x", "y"}
	cases := []struct {
		first, extra, args []string
		replace            bool
		want               []string
	}{
		{nil, nil, nil, false, img},
		{[]string{"--strace"}, []string{"--env=B=2", "--cwd=/t"}, nil, false,
			[]string{"--strace", "--verbose", "--env=A=1", "--env=B=2", "--cwd=/t", "/app", "x", "y"}},
		{nil, nil, []string{"z"}, true, []string{"--verbose", "--env=A=1", "/app", "z"}},
		{nil, []string{"--cwd=/"}, []string{"--not-an-option"}, true, []string{"--verbose", "--env=A=1", "--cwd=/", "/app", "--not-an-option"}},
	}
	for _, c := range cases {
		got, err := EditCmdline(img, c.first, c.extra, c.args, c.replace)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("EditCmdline(%q, %q, %q) = %q, %v; want %q", c.first, c.extra, c.args, got, err, c.want)
		}
	}
	// A lone "--" ends the options.
	got, err := EditCmdline([]string{"--verbose", "--", "--app", "a"}, nil, []string{"--cwd=/"}, []string{"b"}, true)
	if want := []string{"--verbose", "--cwd=/", "--", "--app", "b"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("with --: %q, %v; want %q", got, err, want)
	}
	if _, err := EditCmdline([]string{"--selftest"}, nil, nil, []string{"x"}, true); err == nil {
		t.Errorf("replacing the arguments of no app succeeded")
	}
}

func TestMemoryMiB(t *testing.T) {
	for size, want := range map[int64]int{0: 128, 1 << 20: 128, 21 << 20: 128, 22 << 20: 192, 36 << 20: 192, 47 << 20: 256, 100 << 20: 384} {
		if got := MemoryMiB(size); got != want {
			t.Errorf("MemoryMiB(%d MiB) = %d, want %d", size>>20, got, want)
		}
	}
}

// Progress counts every regular file and byte, and ends with Done.
func TestBuildProgress(t *testing.T) {
	dir := realTempDir(t)
	exe := writeFile(t, filepath.Join(dir, "hello"), makeELF(elfOpts{body: 3000}), 0o755)
	tree := filepath.Join(dir, "tree")
	var total int64
	for i, n := range []int{0, 1, 2, 3, 4, 5, 1000, 300000} {
		writeFile(t, filepath.Join(tree, "d", strings.Repeat("f", i+1)), make([]byte, n), 0o644)
		total += int64(n)
	}
	os.Symlink("d", filepath.Join(tree, "link"))
	var calls []Progress
	im, err := Build(Options{Exe: exe, Copies: []Copy{{tree, "/t"}}, Dir: t.TempDir(), Progress: func(p Progress) { calls = append(calls, p) }})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	fi, _ := os.Stat(exe)
	total += fi.Size()
	last := calls[len(calls)-1]
	want := Progress{Files: 9, TotalFiles: 9, Bytes: total, TotalBytes: total, Done: true}
	if last != want || im.Files != 9 || im.Bytes != total {
		t.Errorf("last progress %+v, want %+v (image: %d files, %d bytes)", last, want, im.Files, im.Bytes)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Files < calls[i-1].Files || calls[i].Bytes < calls[i-1].Bytes {
			t.Errorf("progress went back: %+v after %+v", calls[i], calls[i-1])
		}
	}
	if len(calls) < 3 {
		t.Errorf("only %d progress calls", len(calls))
	}
}
