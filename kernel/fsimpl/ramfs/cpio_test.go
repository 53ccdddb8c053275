package ramfs

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// newc builds newc archives byte by byte (cpio(5)), so that tests control
// every header field, including those the cpio package does not expose.
type newc struct {
	bytes.Buffer
	magic string
}

type hdr struct {
	ino, mode, uid, gid, nlink, mtime uint32
	devMajor, devMinor                uint32
	rdevMajor, rdevMinor              uint32
	name, data                        string
}

func (a *newc) add(h hdr) *newc {
	magic := a.magic
	if magic == "" {
		magic = "070701"
	}
	if h.nlink == 0 {
		h.nlink = 1
	}
	fmt.Fprintf(a, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		magic, h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, len(h.data),
		h.devMajor, h.devMinor, h.rdevMajor, h.rdevMinor, len(h.name)+1, 0)
	a.WriteString(h.name + "\x00")
	a.pad()
	a.WriteString(h.data)
	a.pad()
	return a
}

func (a *newc) pad() {
	for a.Len()%4 != 0 {
		a.WriteByte(0)
	}
}

func (a *newc) trailer() *newc {
	return a.add(hdr{name: "TRAILER!!!"})
}

func TestUnpackCPIO(t *testing.T) {
	fs, clk := newTestFS(t)
	a := &newc{}
	a.add(hdr{ino: 1, mode: S_IFDIR | 0o700, name: ".", mtime: 5})
	a.add(hdr{ino: 2, mode: S_IFDIR | 0o750, uid: 1, gid: 2, mtime: 1000, name: "bin"})
	a.add(hdr{ino: 3, mode: S_IFREG | 0o4755, uid: 3, gid: 4, mtime: 2000, name: "bin/app", data: "\x7fELF..."})
	a.add(hdr{ino: 4, mode: S_IFREG | 0o644, mtime: 3000, name: "./usr/lib/deep/file.so", data: strings.Repeat("L", 10000)})
	a.add(hdr{ino: 5, mode: S_IFLNK | 0o777, mtime: 4000, name: "lib", data: "usr/lib"})
	a.add(hdr{ino: 6, mode: S_IFREG | 0o600, name: "lib/via-link", data: "v"})
	// GNU cpio style hard links: same inode, data on the last one.
	a.add(hdr{ino: 77, mode: S_IFREG | 0o640, nlink: 3, name: "h1", mtime: 5000})
	a.add(hdr{ino: 77, mode: S_IFREG | 0o640, nlink: 3, name: "etc/h2", mtime: 5000})
	a.add(hdr{ino: 77, mode: S_IFREG | 0o640, nlink: 3, name: "h3", mtime: 5000, data: "shared"})
	// The same inode number on another device is another file.
	a.add(hdr{ino: 77, mode: S_IFREG | 0o640, nlink: 2, devMinor: 1, name: "other", data: "o"})
	a.add(hdr{ino: 8, mode: S_IFCHR | 0o620, rdevMajor: 4, rdevMinor: 64, name: "dev/ttyS0"})
	a.add(hdr{ino: 9, mode: S_IFCHR | 0o622, rdevMajor: 5, rdevMinor: 1, name: "dev/console"})
	a.add(hdr{ino: 10, mode: S_IFIFO | 0o644, name: "run/fifo"})
	a.add(hdr{ino: 11, mode: S_IFREG | 0o644, name: "/abs/../empty"})
	a.trailer()
	clk.tick()
	ok(t, fs.UnpackCPIO(bytes.NewReader(a.Bytes())))

	check := func(p string, mode, uid, gid uint32, mtime int64, data string) {
		t.Helper()
		st, err := fs.Lstat(nil, p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		if st.Mode != mode || st.UID != uid || st.GID != gid || mtime >= 0 && st.Mtime.Sec != mtime {
			t.Errorf("%s: mode %#o uid %d gid %d mtime %d; want %#o %d %d %d", p, st.Mode, st.UID, st.GID, st.Mtime.Sec, mode, uid, gid, mtime)
		}
		switch mode & S_IFMT {
		case S_IFREG:
			if got := readFile(t, fs, p); got != data {
				t.Errorf("%s: content %.20q, want %.20q", p, got, data)
			}
		case S_IFLNK:
			if got, _ := fs.Readlink(nil, p); got != data {
				t.Errorf("%s: target %q, want %q", p, got, data)
			}
		}
	}
	check("/", S_IFDIR|0o755, 0, 0, -1, "") // "." is ignored
	check("/bin", S_IFDIR|0o750, 1, 2, 1000, "")
	check("/bin/app", S_IFREG|0o4755, 3, 4, 2000, "\x7fELF...")
	check("/usr", S_IFDIR|0o755, 0, 0, -1, "")
	check("/usr/lib/deep/file.so", S_IFREG|0o644, 0, 0, 3000, strings.Repeat("L", 10000))
	check("/lib", S_IFLNK|0o777, 0, 0, 4000, "usr/lib")
	check("/usr/lib/via-link", S_IFREG|0o600, 0, 0, 0, "v")
	check("/h1", S_IFREG|0o640, 0, 0, 5000, "shared")
	check("/etc/h2", S_IFREG|0o640, 0, 0, 5000, "shared")
	check("/h3", S_IFREG|0o640, 0, 0, 5000, "shared")
	check("/other", S_IFREG|0o640, 0, 0, 0, "o")
	check("/dev/ttyS0", S_IFCHR|0o620, 0, 0, 0, "")
	check("/dev/console", S_IFCHR|0o622, 0, 0, 0, "")
	check("/run/fifo", S_IFIFO|0o644, 0, 0, 0, "")
	check("/empty", S_IFREG|0o644, 0, 0, 0, "")
	if h1, h2 := lstat(t, fs, "/h1"), lstat(t, fs, "/etc/h2"); h1.Ino != h2.Ino || h1.Nlink != 3 || lstat(t, fs, "/other").Nlink != 1 {
		t.Errorf("hard links: %+v %+v", h1, h2)
	}
	if st := lstat(t, fs, "/dev/ttyS0"); st.Rdev != Mkdev(4, 64) {
		t.Errorf("rdev %#x", st.Rdev)
	}
	// The existing console keeps its driver.
	var out bytes.Buffer
	fs.SetConsole(out.Write, nil)
	con, err := fs.Open(nil, "/dev/console", unix.O_WRONLY, 0)
	ok(t, err)
	con.Write([]byte("hi"))
	if out.String() != "hi" || lstat(t, fs, "/dev/console").Rdev != Mkdev(5, 1) {
		t.Errorf("console replaced")
	}
	_, err = fs.Open(nil, "/dev/ttyS0", unix.O_RDWR, 0)
	wantErrno(t, "archive device without driver", err, unix.ENXIO)

	// A second archive replaces entries: file over file, dir over file,
	// file over empty dir; existing directories are kept.
	b := &newc{magic: "070702"} // the crc variant
	b.add(hdr{ino: 1, mode: S_IFREG | 0o600, name: "bin/app", data: "new"})
	b.add(hdr{ino: 2, mode: S_IFDIR | 0o711, name: "h3", mtime: 7})
	b.add(hdr{ino: 3, mode: S_IFREG | 0o600, name: "run", data: "x"})
	b.trailer()
	err = fs.UnpackCPIO(bytes.NewReader(b.Bytes()))
	if err == nil || !strings.Contains(err.Error(), `"run"`) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("replacing a non-empty dir: %v", err)
	}
	check("/bin/app", S_IFREG|0o600, 0, 0, 0, "new")
	check("/h3", S_IFDIR|0o711, 0, 0, 7, "")
	if lstat(t, fs, "/h1").Nlink != 2 {
		t.Errorf("replaced hard link still counted")
	}
	c := &newc{}
	c.add(hdr{ino: 1, mode: S_IFREG | 0o600, name: "h3", data: "file"})
	c.add(hdr{ino: 2, mode: S_IFDIR | 0o755, name: "bin", mtime: 9})
	c.trailer()
	ok(t, fs.UnpackCPIO(bytes.NewReader(c.Bytes())))
	check("/h3", S_IFREG|0o600, 0, 0, 0, "file")
	check("/bin", S_IFDIR|0o755, 0, 0, 9, "")
	check("/bin/app", S_IFREG|0o600, 0, 0, 0, "new")
}

func TestUnpackCPIOConcatenated(t *testing.T) {
	fs, _ := newTestFS(t)
	a := &newc{}
	a.add(hdr{ino: 1, mode: S_IFREG | 0o644, name: "one", data: "1"}).trailer()
	a.Write(make([]byte, 512-a.Len()%512)) // block padding, as cpio -o writes
	a.add(hdr{ino: 1, mode: S_IFREG | 0o644, name: "two", data: "2"}).trailer()
	ok(t, fs.UnpackCPIO(bytes.NewReader(a.Bytes())))
	if readFile(t, fs, "/one") != "1" || readFile(t, fs, "/two") != "2" {
		t.Errorf("concatenated archives")
	}
	ok(t, fs.UnpackCPIO(bytes.NewReader(nil)))
}

func TestUnpackCPIOCorrupt(t *testing.T) {
	good := &newc{}
	good.add(hdr{ino: 1, mode: S_IFDIR | 0o755, name: "etc"})
	good.add(hdr{ino: 2, mode: S_IFREG | 0o644, name: "etc/passwd", data: "root:x:0:0::/:/bin/sh\n"})
	good.add(hdr{ino: 3, mode: S_IFREG | 0o644, name: "etc/group", data: "root:x:0:\n"})
	good.trailer()
	g := good.Bytes()
	second := bytes.Index(g, []byte("070701"+"00000002"))
	third := bytes.Index(g, []byte("070701"+"00000003"))
	groupData := bytes.Index(g, []byte("root:x:0:\n"))

	badMagic := append([]byte{}, g...)
	copy(badMagic[third:], "070799")
	badHex := append([]byte{}, g...)
	copy(badHex[second+6+8+8*5:], "zzzzzzzz") // filesize of etc/passwd
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"garbage", []byte("this is not a cpio archive at all, really not"), []string{"at byte 0", "first entry"}},
		{"bad magic", badMagic, []string{fmt.Sprintf("at byte %d", third), `after entry "etc/passwd"`}},
		{"truncated header", g[:third+50], []string{`after entry "etc/passwd"`, "truncated header"}},
		{"truncated name", g[:third+112], []string{`after entry "etc/passwd"`}},
		{"truncated data", g[:groupData+4], []string{`entry "etc/group"`, "truncated data (4 of 10 bytes)"}},
		{"no trailer", g[:bytes.Index(g, []byte("TRAILER"))-110], []string{`after entry "etc/group"`, "no TRAILER!!!"}},
		{"bad size field", badHex, []string{`entry "etc/passwd"`}},
	} {
		fs, _ := newTestFS(t)
		err := fs.UnpackCPIO(bytes.NewReader(c.data))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
	fs, _ := newTestFS(t)
	ok(t, fs.UnpackCPIO(bytes.NewReader(g)))
	if readFile(t, fs, "/etc/group") != "root:x:0:\n" {
		t.Errorf("good archive")
	}
}
