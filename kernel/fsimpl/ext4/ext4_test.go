package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests build images with e2fsprogs' mke2fs -d from a directory tree
// made on the host, and compare what the reader finds with the tree.

func needTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"mke2fs", "debugfs", "e2fsck", "dumpe2fs"} {
		if _, err := os.Stat(toolPath(tool)); err != nil {
			t.Skipf("%s not installed (e2fsprogs)", tool)
		}
	}
}

// toolPath finds an e2fsprogs program, also in /usr/sbin (not in a user's
// $PATH on Debian).
func toolPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	name = toolPath(name)
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=1000000000", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// makeTree creates the test tree under dir and returns the paths of the
// files it put xattrs on.
func makeTree(t testing.TB, dir string, big int) {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, data []byte, mode fs.FileMode) {
		p := filepath.Join(dir, name)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, mode))
		must(os.Chmod(p, mode))
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	sizes := []int{0, 1, 59, 60, 61, 100, 1023, 1024, 1025, 4095, 4096, 4097, 12345, 70000, 300000}
	for i := 0; i < 120; i++ {
		write(fmt.Sprintf("many/f%03d", i), random(sizes[i%len(sizes)]), fs.FileMode(0o600+i%8*0o10))
	}
	write("exe", random(5000), 0o755)
	write("setuid", random(10), 0o4755|fs.ModeSetuid)
	must(os.Chmod(filepath.Join(dir, "setuid"), 0o755|fs.ModeSetuid))
	makeBigDir(t, filepath.Join(dir, "big"), big)
	// Sparse files: a hole in the middle, a hole at the start, a hole at
	// the end, and many small pieces (an extent tree deeper than the
	// inode's four entries).
	sparse := func(name string, size int64, pieces map[int64][]byte) {
		f, err := os.Create(filepath.Join(dir, name))
		must(err)
		for off, b := range pieces {
			_, err := f.WriteAt(b, off)
			must(err)
		}
		must(f.Truncate(size))
		must(f.Close())
	}
	sparse("sparse-mid", 10<<20+3, map[int64][]byte{0: []byte("start"), 10 << 20: []byte("end")})
	sparse("sparse-head", 5<<20, map[int64][]byte{5<<20 - 4096: random(4096)})
	sparse("sparse-tail", 3<<20, map[int64][]byte{0: random(8192)})
	pieces := map[int64][]byte{}
	for i := int64(0); i < 200; i++ {
		pieces[i*65536+i] = random(3000)
	}
	sparse("fragmented", 200*65536, pieces)
	// Symbolic links: fast (in the inode) and slow (in a block).
	must(os.Symlink("many/f001", filepath.Join(dir, "fastlink")))
	must(os.Symlink(strings.Repeat("long/", 40)+"target", filepath.Join(dir, "slowlink")))
	must(os.Symlink(strings.Repeat("y", 59), filepath.Join(dir, "link59")))
	must(os.Symlink(strings.Repeat("z", 60), filepath.Join(dir, "link60")))
	// Hard links.
	write("hard1", []byte("shared contents\n"), 0o644)
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "sub/hard2")))
	must(os.MkdirAll(filepath.Join(dir, "a/b/c/d"), 0o750))
	write("a/b/c/d/deep", []byte("deep\n"), 0o640)
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	// Extended attributes, small (in the inode) and large (in a block).
	for _, x := range []struct{ file, name, value string }{
		{"hard1", "user.small", "v"},
		{"exe", "user.one", "1"},
		{"exe", "user.big", strings.Repeat("B", 900)},
		{"a", "user.dir", "on a directory"},
	} {
		if err := unix.Lsetxattr(filepath.Join(dir, x.file), x.name, []byte(x.value), 0); err != nil {
			t.Logf("no user xattrs on the host filesystem: %v", err)
			break
		}
	}
	// A POSIX ACL (mke2fs converts it to ext4's encoding): user::rw-,
	// user:1000:r--, group::r--, mask::r--, other::---.
	acl := []byte{2, 0, 0, 0}
	for _, e := range [][3]uint32{{aclUserObj, 6, 0xFFFFFFFF}, {aclUser, 4, 1000}, {aclGroupObj, 4, 0xFFFFFFFF}, {aclMask, 4, 0xFFFFFFFF}, {aclOther, 0, 0xFFFFFFFF}} {
		acl = le.AppendUint16(acl, uint16(e[0]))
		acl = le.AppendUint16(acl, uint16(e[1]))
		acl = le.AppendUint32(acl, e[2])
	}
	write("acl", []byte("acl"), 0o640)
	if err := unix.Setxattr(filepath.Join(dir, "acl"), "system.posix_acl_access", acl, 0); err != nil {
		t.Logf("no ACLs on the host filesystem: %v", err)
	}
	// Timestamps with nanoseconds.
	must(os.Chtimes(filepath.Join(dir, "hard1"), unixTime(1234567890, 123456789), unixTime(1500000000, 987654321)))
}

// makeBigDir makes a directory with n empty files, big enough for a hash
// tree, with names whose bytes have the high bit set (signed and unsigned
// hashes differ on them) and names of many lengths.
func makeBigDir(t testing.TB, dir string, n int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("entry-%05d", i)
		switch i % 5 {
		case 1:
			name += "-é-ü-" + strings.Repeat("x", i%97)
		case 2:
			name = strings.Repeat("n", 1+i%200) + fmt.Sprint(i)
		}
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildImage makes an ext4 image of dir with extra mke2fs arguments.
func buildImage(t testing.TB, dir string, size string, args ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	buildImageTo(t, img, dir, size, args...)
	return img
}

func buildImageTo(t testing.TB, img, dir string, size string, args ...string) {
	t.Helper()
	a := append([]string{"-q", "-F", "-t", "ext4"}, args...)
	a = append(a, "-d", dir, img, size)
	run(t, "mke2fs", a...)
	// mke2fs -d makes linear directories; e2fsck -D indexes the large
	// ones (exit status 1: "file system was modified").
	if err := exec.Command(toolPath("e2fsck"), "-fyD", img).Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("e2fsck -fyD: %v", err)
		}
	}
	run(t, "e2fsck", "-fn", img)
}

func openImage(t testing.TB, img string) *FS {
	t.Helper()
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(NewDevice(bytes.NewReader(data), int64(len(data))))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// resolve walks a slash path from the root without following symlinks.
func resolve(t testing.TB, f *FS, p string) *Inode {
	t.Helper()
	n, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(p, "/") {
		if name == "" {
			continue
		}
		n, err = n.Lookup(name)
		if err != nil {
			t.Fatalf("lookup %s (component %q): %v", p, name, err)
		}
	}
	return n
}

// compareTree checks every file of dir against the image.
func compareTree(t *testing.T, f *FS, dir string, skipSize ...string) {
	inodes := map[uint64]uint32{} // host inode -> image inode (hard links)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		n := resolve(t, f, rel)
		var hst unix.Stat_t
		if err := unix.Lstat(p, &hst); err != nil {
			return err
		}
		st := n.Stat()
		if st.Mode != hst.Mode && rel != "." { // mke2fs makes the root 0755
			t.Errorf("%s: mode %#o, want %#o", rel, st.Mode, hst.Mode)
		}
		if st.UID != hst.Uid || st.GID != hst.Gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, st.UID, st.GID, hst.Uid, hst.Gid)
		}
		if rel != "." && st.Mtime.Sec != hst.Mtim.Sec {
			t.Errorf("%s: mtime %d, want %d", rel, st.Mtime.Sec, hst.Mtim.Sec)
		}
		if st.Blksize != f.BlockSize() {
			t.Errorf("%s: blksize %d", rel, st.Blksize)
		}
		switch hst.Mode & S_IFMT {
		case S_IFDIR:
			ents, err := n.ReadDir()
			if err != nil {
				t.Fatalf("%s: ReadDir: %v", rel, err)
			}
			var got []string
			dots := 0
			for _, e := range ents {
				switch e.Name {
				case ".", "..":
					dots++
					if e.Type != DT_DIR {
						t.Errorf("%s/%s: type %d", rel, e.Name, e.Type)
					}
					continue
				case "lost+found":
					if rel == "." {
						continue
					}
				}
				got = append(got, e.Name)
				want := map[uint32]uint8{S_IFREG: DT_REG, S_IFDIR: DT_DIR, S_IFLNK: DT_LNK, S_IFIFO: DT_FIFO}
				var cst unix.Stat_t
				if err := unix.Lstat(filepath.Join(p, e.Name), &cst); err == nil && want[cst.Mode&S_IFMT] != e.Type {
					t.Errorf("%s/%s: d_type %d, want %d", rel, e.Name, e.Type, want[cst.Mode&S_IFMT])
				}
			}
			if dots != 2 {
				t.Errorf("%s: %d dot entries", rel, dots)
			}
			hents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			var want []string
			for _, e := range hents {
				want = append(want, e.Name())
			}
			sort.Strings(got)
			if !equalStrings(got, want) {
				t.Errorf("%s: %d entries, want %d", rel, len(got), len(want))
			}
		case S_IFREG:
			if slicesContains(skipSize, rel) {
				break
			}
			if st.Size != hst.Size {
				t.Errorf("%s: size %d, want %d", rel, st.Size, hst.Size)
			}
			if st.Nlink != uint32(hst.Nlink) {
				t.Errorf("%s: nlink %d, want %d", rel, st.Nlink, hst.Nlink)
			}
			if prev, ok := inodes[hst.Ino]; ok && prev != n.Ino() {
				t.Errorf("%s: hard link to inode %d, found inode %d", rel, prev, n.Ino())
			}
			inodes[hst.Ino] = n.Ino()
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got := make([]byte, len(want)+10)
			c, err := n.ReadAt(got, 0)
			if c != len(want) || (err != io.EOF) || !bytes.Equal(got[:c], want) {
				t.Errorf("%s: ReadAt read %d bytes (%v), want %d; equal %v", rel, c, err, len(want), bytes.Equal(got[:c], want))
			}
			// Unaligned pieces.
			for _, off := range []int64{1, 1000, 4095, 4097, int64(len(want)) / 2, int64(len(want)) - 3} {
				if off < 0 || off >= int64(len(want)) {
					continue
				}
				buf := make([]byte, 5000)
				c, err := n.ReadAt(buf, off)
				end := off + int64(c)
				if !bytes.Equal(buf[:c], want[off:end]) || (c < len(buf)) != (err == io.EOF) {
					t.Errorf("%s: ReadAt(%d) = %d, %v: wrong data", rel, off, c, err)
				}
			}
			if n.flag&flagInlineData == 0 && st.Blocks == 0 && hst.Blocks != 0 {
				t.Errorf("%s: 0 blocks", rel)
			}
		case S_IFLNK:
			want, err := os.Readlink(p)
			if err != nil {
				return err
			}
			got, err := n.Readlink()
			if err != nil || got != want {
				t.Errorf("%s: Readlink = %q, %v; want %q", rel, got, err, want)
			}
		}
		// Extended attributes (the host lists them in any order).
		hostNames := listHostXattrs(p)
		names, err := n.Listxattr()
		if err != nil {
			t.Errorf("%s: Listxattr: %v", rel, err)
		}
		var user []string
		for _, x := range names {
			if strings.HasPrefix(x, "user.") || strings.HasPrefix(x, "system.posix_acl") {
				user = append(user, x)
			}
		}
		sort.Strings(user)
		if !equalStrings(user, hostNames) {
			t.Errorf("%s: xattrs %q, want %q", rel, user, hostNames)
		}
		for _, x := range hostNames {
			want := make([]byte, 65536)
			k, _ := unix.Lgetxattr(p, x, want)
			got, err := n.Getxattr(x)
			if err != nil || !bytes.Equal(got, want[:k]) {
				t.Errorf("%s: Getxattr(%s) = %q, %v; want %q", rel, x, got, err, want[:k])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func listHostXattrs(p string) []string {
	buf := make([]byte, 65536)
	k, err := unix.Llistxattr(p, buf)
	if err != nil || k == 0 {
		return nil
	}
	var out []string
	for _, s := range strings.Split(string(buf[:k-1]), "\x00") {
		if strings.HasPrefix(s, "user.") || strings.HasPrefix(s, "system.posix_acl") {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func slicesContains(s []string, x string) bool {
	for _, y := range s {
		if x == y {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var sharedTree string

func tree(t *testing.T) string {
	t.Helper()
	needTools(t)
	if sharedTree == "" {
		dir, err := os.MkdirTemp("", "ext4-tree-")
		if err != nil {
			t.Fatal(err)
		}
		makeTree(t, dir, 5000)
		sharedTree = dir
	}
	return sharedTree
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedTree != "" {
		os.RemoveAll(sharedTree)
	}
	os.Exit(code)
}

func TestDefault4K(t *testing.T) {
	dir := tree(t)
	f := openImage(t, buildImage(t, dir, "64M", "-b", "4096"))
	if f.BlockSize() != 4096 || !f.csum || f.incompat&incompat64bit == 0 || f.incompat&incompatFlexBG == 0 {
		t.Fatalf("not a default ext4: block size %d, features %#x/%#x", f.BlockSize(), f.incompat, f.roCompat)
	}
	compareTree(t, f, dir)
	checkDirAPI(t, f)
	if xs := listHostXattrs(filepath.Join(dir, "acl")); len(xs) == 0 {
		t.Log("the host filesystem kept no ACL: ACL conversion not tested")
	} else if v, err := resolve(t, f, "acl").Getxattr("system.posix_acl_access"); err != nil || len(v) != 4+5*8 {
		t.Errorf("ACL = %x, %v", v, err)
	}
	big := resolve(t, f, "big")
	if big.flag&flagIndex == 0 {
		t.Errorf("big is not indexed")
	}
}

// checkDirAPI pages through directories with ReadDirAt and checks Parent.
func checkDirAPI(t *testing.T, f *FS) {
	for _, p := range []string{"", "big", "a/b", "a/b/c"} {
		d := resolve(t, f, p)
		all, err := d.ReadDir()
		if err != nil {
			t.Fatal(err)
		}
		var paged []DirEntry
		off := int64(0)
		for calls := 0; calls <= len(all); calls++ {
			k := 0
			if err := d.ReadDirAt(off, func(e DirEntry) bool {
				paged = append(paged, e)
				off = e.Off
				k++
				return k < 7
			}); err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				break
			}
		}
		if len(paged) != len(all) {
			t.Fatalf("%s: ReadDirAt pages give %d entries, ReadDir %d", p, len(paged), len(all))
		}
		for i := range all {
			if paged[i] != all[i] {
				t.Fatalf("%s: entry %d: %+v vs %+v", p, i, paged[i], all[i])
			}
		}
	}
	root := resolve(t, f, "")
	if p, name, err := root.Parent(); err != nil || p.Ino() != rootIno || name != "" {
		t.Errorf("root.Parent() = %v, %q, %v", p, name, err)
	}
	c := resolve(t, f, "a/b/c")
	if p, name, err := c.Parent(); err != nil || p.Ino() != resolve(t, f, "a/b").Ino() || name != "c" {
		t.Errorf("a/b/c Parent() = %v, %q, %v", p, name, err)
	}
}

func TestBlockSize1K(t *testing.T) {
	dir := tree(t)
	img := buildImage(t, dir, "96M", "-b", "1024")
	f := openImage(t, img)
	if f.BlockSize() != 1024 || f.firstData != 1 {
		t.Fatalf("block size %d, first data block %d", f.BlockSize(), f.firstData)
	}
	compareTree(t, f, dir)
	// 5000 entries of 1 KiB blocks make a two-level hash tree.
	big := resolve(t, f, "big")
	b, _, err := big.dirBlock(0)
	if err != nil {
		t.Fatal(err)
	}
	if b[0x1E] != 1 {
		t.Errorf("big has %d indirect levels, want 1", b[0x1E])
	}
}

func TestInlineData(t *testing.T) {
	dir := tree(t)
	img := buildImage(t, dir, "64M", "-b", "4096", "-O", "inline_data")
	f := openImage(t, img)
	// mke2fs 1.47.0 with inline_data loses the trailing hole of a sparse
	// file (i_size ends at the last data block); check these two against
	// debugfs instead of the host.
	compareTree(t, f, dir, "fragmented", "sparse-tail")
	checkDirAPI(t, f)
	for _, name := range []string{"fragmented", "sparse-tail"} {
		out := run(t, "debugfs", "-R", "stat /"+name, img)
		var size int64
		if i := strings.Index(out, "Size: "); i >= 0 {
			fmt.Sscan(out[i+6:], &size)
		}
		if got := resolve(t, f, name).Size(); got != size || size == 0 {
			t.Errorf("%s: size %d, debugfs says %d", name, got, size)
		}
	}
	n := resolve(t, f, "many/f002") // 59 bytes
	if n.flag&flagInlineData == 0 {
		t.Errorf("many/f002 is not inline")
	}
	d := resolve(t, f, "a/b")
	if d.flag&flagInlineData == 0 {
		t.Errorf("a/b is not an inline directory")
	}
}

// 64 KiB blocks: a directory entry that spans a whole block stores its
// rec_len of 65536 as 65535.
func TestBlockSize64K(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	makeBigDir(t, filepath.Join(dir, "big"), 3000)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	rng := rand.New(rand.NewSource(3))
	data := make([]byte, 300000)
	rng.Read(data)
	os.WriteFile(filepath.Join(dir, "file"), data, 0o644)
	f := openImage(t, buildImage(t, dir, "128M", "-b", "65536", "-N", "4096"))
	if f.BlockSize() != 65536 {
		t.Fatalf("block size %d", f.BlockSize())
	}
	compareTree(t, f, dir)
}

func TestNoExtentsNo64bit(t *testing.T) {
	dir := tree(t)
	f := openImage(t, buildImage(t, dir, "64M", "-O", "^extent,^64bit,^metadata_csum,^flex_bg,uninit_bg"))
	if f.incompat&incompatExtents != 0 || f.descSize != 32 || f.roCompat&roCompatGdtCsum == 0 {
		t.Fatalf("features %#x, descriptor size %d", f.incompat, f.descSize)
	}
	compareTree(t, f, dir)
}

// The hash variants: e2fsck -D rebuilds the directories with the hash
// version and signedness set in the superblock.
func TestHashVersions(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	makeBigDir(t, filepath.Join(dir, "big"), 3000) // two levels with 1 KiB blocks
	for _, c := range []struct{ ver, flags string }{{"tea", "2"}, {"tea", "1"}, {"legacy", "2"}, {"half_md4", "2"}, {"legacy", "1"}} {
		t.Run(c.ver+"-"+c.flags, func(t *testing.T) {
			img := buildImage(t, dir, "16M", "-b", "1024", "-N", "4000")
			if root, _, _ := resolve(t, openImage(t, img), "big").dirBlock(0); root[0x1E] != 1 {
				t.Fatalf("big has %d indirect levels, want 1", root[0x1E])
			}
			run(t, "debugfs", "-w", "-R", "ssv def_hash_version "+c.ver, img)
			run(t, "debugfs", "-w", "-R", "ssv flags "+c.flags, img)
			exec.Command(toolPath("e2fsck"), "-fyD", img).Run() // status 1: modified
			run(t, "e2fsck", "-fn", img)
			f := openImage(t, img)
			big := resolve(t, f, "big")
			ents, err := big.ReadDir()
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 3002 {
				t.Fatalf("%d entries", len(ents))
			}
			for _, e := range ents {
				if e.Name == "." || e.Name == ".." {
					if ino, err := big.LookupIno(e.Name); ino != e.Ino || err != nil {
						t.Errorf("LookupIno(%q) = %d, %v; want %d", e.Name, ino, err, e.Ino)
					}
					continue
				}
				ino, err := big.dxLookup(e.Name)
				if err != nil || ino != e.Ino {
					t.Fatalf("dxLookup(%q) = %d, %v; want %d", e.Name, ino, err, e.Ino)
				}
			}
			if _, err := big.dxLookup("missing"); err != syscall.ENOENT {
				t.Errorf("dxLookup(missing) = %v", err)
			}
		})
	}
}

// The xattrs that debugfs puts in: in the inode, in an external block,
// and a value in an inode of its own (ea_inode).
func TestXattrs(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644)
	img := buildImage(t, dir, "16M", "-b", "4096", "-O", "ea_inode")
	// debugfs reads at most a block from the value file; a full block
	// does not fit the xattr block and goes to an inode of its own.
	big := strings.Repeat("0123456789abcdef", 256)
	mid := strings.Repeat("m", 2000)
	valFile := filepath.Join(t.TempDir(), "val")
	os.WriteFile(valFile, []byte(big), 0o644)
	run(t, "debugfs", "-w", "-R", "ea_set /x user.a small", img)
	run(t, "debugfs", "-w", "-R", "ea_set /x trusted.t T", img)
	run(t, "debugfs", "-w", "-R", "ea_set /x security.selinux "+mid, img)
	run(t, "debugfs", "-w", "-R", "ea_set -f "+valFile+" /x user.huge", img)
	// (e2fsck -fn disagrees with debugfs's i_blocks after ea_set here.)
	f := openImage(t, img)
	n := resolve(t, f, "x")
	names, err := n.Listxattr()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if want := []string{"security.selinux", "trusted.t", "user.a", "user.huge"}; !equalStrings(names, want) {
		t.Errorf("Listxattr = %q, want %q", names, want)
	}
	for name, want := range map[string]string{"user.a": "small", "trusted.t": "T", "security.selinux": mid, "user.huge": big} {
		got, err := n.Getxattr(name)
		if err != nil || string(got) != want {
			t.Errorf("Getxattr(%s) = %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
	if blk := le.Uint32(n.raw[0x68:]); blk == 0 {
		t.Errorf("no external xattr block")
	}
	if _, err := n.Getxattr("user.none"); err != syscall.ENODATA {
		t.Errorf("Getxattr(user.none) = %v, want ENODATA", err)
	}
}

// Stat against debugfs-set values: 32-bit owners, nanoseconds and epoch
// bits of the extra timestamps, creation time, and a device node.
func TestStatFields(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o640)
	img := buildImage(t, dir, "16M")
	for _, c := range []string{
		"sif /f uid 0x12345", "sif /f gid 0x6789a", "sif /f links_count 3",
		"sif /f mtime 0x7fffffff", "sif /f mtime_extra 0x0ee6b281", // 999999999<<2 | epoch 1... see below
		"sif /f atime 5", "sif /f atime_extra 0x1d4", "sif /f crtime 7", "sif /f crtime_extra 8",
		"mknod dev8 c 3 7", "mknod dev9 b 1 1", "sif /dev9 block[0] 0", "sif /dev9 block[1] 0x11112C70",
	} {
		run(t, "debugfs", "-w", "-R", c, img)
	}
	f := openImage(t, img)
	st := resolve(t, f, "f").Stat()
	if st.UID != 0x12345 || st.GID != 0x6789a || st.Nlink != 3 || st.Size != 5 || st.Mode != S_IFREG|0o640 {
		t.Errorf("stat = %+v", st)
	}
	// mtime_extra 0x0ee6b281: epoch bits 1, nanoseconds 0x0ee6b281>>2.
	if st.Mtime != (Timespec{0x7fffffff + 1<<32, 0x0ee6b281 >> 2}) {
		t.Errorf("mtime = %+v", st.Mtime)
	}
	if st.Atime != (Timespec{5, 0x1d4 >> 2}) || st.Btime != (Timespec{7, 2}) {
		t.Errorf("atime %+v btime %+v", st.Atime, st.Btime)
	}
	if st.Blocks != int64(f.BlockSize()/512) {
		t.Errorf("blocks = %d", st.Blocks)
	}
	dev := resolve(t, f, "dev8").Stat()
	if dev.Mode&S_IFMT != S_IFCHR || dev.RdevMajor != 3 || dev.RdevMinor != 7 {
		t.Errorf("device (old encoding): %+v", dev)
	}
	dev = resolve(t, f, "dev9").Stat()
	if dev.Mode&S_IFMT != S_IFBLK || dev.RdevMajor != 300 || dev.RdevMinor != 70000 {
		t.Errorf("device (new encoding): %+v", dev)
	}
}

func TestStatfs(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), make([]byte, 100000), 0o644)
	img := buildImage(t, dir, "32M", "-b", "4096")
	f := openImage(t, img)
	st := f.Statfs()
	out := run(t, "dumpe2fs", "-h", img)
	field := func(name string) uint64 {
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, name+":"); ok {
				var x uint64
				fmt.Sscan(strings.TrimSpace(v), &x)
				return x
			}
		}
		t.Fatalf("no %s in dumpe2fs", name)
		return 0
	}
	if st.Type != 0xEF53 || st.Bsize != 4096 || st.Bfree != field("Free blocks") ||
		st.Files != field("Inode count") || st.Ffree != field("Free inodes") ||
		st.Bavail != field("Free blocks")-field("Reserved block count") || st.Namelen != 255 {
		t.Errorf("statfs = %+v", st)
	}
	if st.Blocks != field("Block count")-field("Overhead clusters") {
		t.Errorf("statfs blocks %d of %d", st.Blocks, field("Block count"))
	}
}

func TestErrors(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
	os.Symlink("f", filepath.Join(dir, "l"))
	img := buildImage(t, dir, "8M")
	f := openImage(t, img)
	root, _ := f.Root()
	if _, err := root.Lookup("nope"); err != syscall.ENOENT {
		t.Errorf("Lookup(nope) = %v", err)
	}
	if _, err := root.Lookup(strings.Repeat("a", 256)); err != syscall.ENAMETOOLONG {
		t.Errorf("long name: %v", err)
	}
	file := resolve(t, f, "f")
	if _, err := file.Lookup("x"); err != syscall.ENOTDIR {
		t.Errorf("Lookup in a file: %v", err)
	}
	if _, err := file.ReadDir(); err != syscall.ENOTDIR {
		t.Errorf("ReadDir of a file: %v", err)
	}
	if _, err := file.Readlink(); err != syscall.EINVAL {
		t.Errorf("Readlink of a file: %v", err)
	}
	if c, err := file.ReadAt(make([]byte, 4), 4); c != 0 || err != io.EOF {
		t.Errorf("ReadAt at EOF = %d, %v", c, err)
	}
	if _, err := f.Inode(f.inodes + 1); !errors.Is(err, syscall.EIO) {
		t.Errorf("inode out of range: %v", err)
	}
}

// A damaged checksum is an EIO-like *CorruptError naming what is wrong.
func TestChecksumErrors(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644)
	img := buildImage(t, dir, "8M")
	data, _ := os.ReadFile(img)
	f := openImage(t, img)
	ino := resolve(t, f, "f").Ino()
	g := (ino - 1) / f.ipg
	off := int64(f.gd[g].inodeTable)*f.blockSize + int64((ino-1)%f.ipg)*f.inodeSize
	bad := append([]byte(nil), data...)
	bad[off+0x10]++ // mtime
	f2, err := Open(NewDevice(bytes.NewReader(bad), int64(len(bad))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f2.Inode(ino)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "inode checksum mismatch") {
		t.Errorf("damaged inode: %v", err)
	}
	bad = append([]byte(nil), data...)
	bad[int64(f.firstData+1)*f.blockSize+8]++ // group 0's inode table
	if _, err := Open(NewDevice(bytes.NewReader(bad), int64(len(bad)))); err == nil || !strings.Contains(err.Error(), "group descriptor 0 checksum mismatch") {
		t.Errorf("damaged group descriptor: %v", err)
	}
	bad = append([]byte(nil), data...)
	bad[1024+0x30]++ // s_wtime
	if _, err := Open(NewDevice(bytes.NewReader(bad), int64(len(bad)))); err == nil || !strings.Contains(err.Error(), "superblock checksum mismatch") {
		t.Errorf("damaged superblock: %v", err)
	}
}

// An incompatible feature the reader does not know is refused by name.
func TestUnsupportedFeatures(t *testing.T) {
	needTools(t)
	img := buildImage(t, t.TempDir(), "8M")
	data, _ := os.ReadFile(img)
	sb := data[1024:2048]
	le.PutUint32(sb[0x60:], le.Uint32(sb[0x60:])|incompatEncrypt|incompatCasefold|0x80000000)
	le.PutUint32(sb[0x3FC:], crc32c(^uint32(0), sb[:0x3FC]))
	_, err := Open(NewDevice(bytes.NewReader(data), int64(len(data))))
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "encrypt, casefold, unknown(0x80000000)") {
		t.Errorf("Open = %v", err)
	}
	if _, err := Open(NewDevice(bytes.NewReader(data[:4096]), 4096)); err == nil {
		t.Errorf("truncated device opened")
	}
}

func unixTime(sec, nsec int64) time.Time { return time.Unix(sec, nsec) }

// The checksum helper against a known CRC-32C value (RFC 3720 B.4: 32
// bytes of zeros).
func TestCRC32C(t *testing.T) {
	if got := ^crc32c(^uint32(0), make([]byte, 32)); got != 0x8a9136aa {
		t.Errorf("crc32c = %#x", got)
	}
}

// Checksum mismatches in an extent block, a directory leaf and an htree
// node are reported when the damaged structure is read.
func TestMetadataChecksums(t *testing.T) {
	dir := tree(t)
	img := buildImage(t, dir, "64M", "-b", "4096")
	data, _ := os.ReadFile(img)
	f := openImage(t, img)
	damage := func(blk uint64, off int64) *FS {
		bad := append([]byte(nil), data...)
		bad[int64(blk)*f.blockSize+off] ^= 0x10
		return openBytes(t, bad)
	}
	frag := resolve(t, f, "fragmented")
	if depth := le.Uint16(frag.raw[iBlockOff+6:]); depth == 0 {
		t.Fatalf("fragmented has an extent tree of depth 0")
	}
	leaf := uint64(le.Uint32(frag.raw[iBlockOff+12+4:])) // first index entry's ei_leaf_lo
	f2 := damage(leaf, 12+4)
	_, err := resolve(t, f2, "fragmented").ReadAt(make([]byte, 10), 0)
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "extent block") || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("damaged extent block: %v", err)
	}

	big := resolve(t, f, "big")
	for _, c := range []struct {
		lblk int64
		want string
	}{{0, "htree block 0 checksum mismatch"}, {1, "directory block 1 checksum mismatch"}} {
		m, err := big.mapBlock(uint64(c.lblk), 1)
		if err != nil {
			t.Fatal(err)
		}
		f2 := damage(m.phys, 0x28)
		root, _ := f2.Root()
		b2, err := root.Lookup("big")
		if err != nil {
			t.Fatal(err)
		}
		_, err = b2.ReadDir()
		if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("damaged directory block %d: %v, want %q", c.lblk, err, c.want)
		}
	}
}
