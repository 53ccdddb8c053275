// Package kernfs is a filesystem of synthetic files whose contents the
// kernel computes when they are opened (Linux's kernfs and proc_fs, gVisor's
// kernfs): the machinery under procfs and sysfs. A tree of Nodes describes
// the files; directories list their entries on demand, so the tree follows
// the state it shows.
//
// Regular files are read from a snapshot taken at open (as seq_file does);
// writes go to the node's Write operation (EINVAL without one). The files
// cannot be created, removed, renamed or have their attributes changed: the
// errors are those of proc and sysfs (see Errors).
package kernfs

import (
	"hash/fnv"
	"sync"
	"time"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Node is one file of the tree.
type Node struct {
	Name string
	Mode uint32 // S_IFDIR, S_IFLNK or S_IFREG and permission bits
	// Data returns the contents of a regular file, taken at open.
	Data func(ctx vfs.Context) []byte
	// Write consumes a write(2) to a regular file; nil: EINVAL, as for a
	// seq_file without a write operation. ctx is the opener's.
	Write func(ctx vfs.Context, b []byte) (int, error)
	// Link returns the target of a symbolic link.
	Link func(ctx vfs.Context) (string, error)
	// Magic, for a symbolic link, makes it a magic link (proc(5)'s
	// /proc/N/fd/M, exe, cwd): following it leads to the returned location
	// rather than through the text of Link. at is the link's location.
	Magic func(ctx vfs.Context, at vfs.Loc) (vfs.Loc, error)
	// List returns the entries of a directory.
	List func(ctx vfs.Context) []*Node
	// Find, optional, looks an entry up directly (large or lazy
	// directories such as /proc/N/fd).
	Find func(ctx vfs.Context, name string) *Node
}

// Dir, Reg, Text and Symlink make nodes.
func Dir(name string, mode uint32, list func(ctx vfs.Context) []*Node) *Node {
	return &Node{Name: name, Mode: vfs.S_IFDIR | mode, List: list}
}

// Reg is a regular file whose contents data returns.
func Reg(name string, mode uint32, data func(ctx vfs.Context) []byte) *Node {
	return &Node{Name: name, Mode: vfs.S_IFREG | mode, Data: data}
}

// Text is a read-only file with fixed contents.
func Text(name, text string) *Node {
	return Reg(name, 0o444, func(vfs.Context) []byte { return []byte(text) })
}

// Symlink is a symbolic link whose target link returns.
func Symlink(name string, link func(ctx vfs.Context) (string, error)) *Node {
	return &Node{Name: name, Mode: vfs.S_IFLNK | 0o777, Link: link}
}

// SymlinkTo is a symbolic link with a fixed target.
func SymlinkTo(name, target string) *Node {
	return Symlink(name, func(vfs.Context) (string, error) { return target, nil })
}

func (n *Node) typ() uint32 { return n.Mode & vfs.S_IFMT }

func (n *Node) child(ctx vfs.Context, name string) *Node {
	if n.Find != nil {
		return n.Find(ctx, name)
	}
	if n.List == nil {
		return nil
	}
	for _, c := range n.List(ctx) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Errors are what a filesystem answers to operations its files do not
// have.
type Errors struct {
	// Create is the error of creating a missing name (open with O_CREAT,
	// mkdir, mknod, symlink, link): proc's lookup fails with ENOENT,
	// sysfs has no create operation (EACCES for open, EPERM otherwise).
	Create, CreateOpen unix.Errno
}

// FS is a kernfs filesystem instance.
type FS struct {
	typ   string
	magic uint64
	dev   uint64
	errs  Errors
	opts  string
	boot  vfs.Timespec
	root  *Inode
}

// New creates a filesystem of type typ (statfs f_type magic, st_dev dev)
// whose root directory is rootNode.
func New(typ string, magic, dev uint64, errs Errors, rootNode *Node) *FS {
	fs := &FS{typ: typ, magic: magic, dev: dev, errs: errs, boot: vfs.TimespecOf(time.Now())}
	fs.root = &Inode{fs: fs, node: rootNode, path: ""}
	fs.root.parent = fs.root
	return fs
}

// Root returns the root directory.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type returns the filesystem type ("proc", "sysfs").
func (fs *FS) Type() string { return fs.typ }

// Options returns the filesystem options of /proc/mounts.
func (fs *FS) Options() string { return fs.opts }

// Statfs reports the magic number and no blocks.
func (fs *FS) Statfs() vfs.Statfs {
	return vfs.Statfs{Type: fs.magic, Bsize: 4096, Namelen: vfs.NameMax, Frsize: 4096}
}

// Inode is a node reached by a path from the root: the same node under two
// paths (/proc/self and /proc/1 lead to one directory) is one inode, as
// inode numbers come from the path.
type Inode struct {
	fs     *FS
	node   *Node
	path   string // from the root, "" for the root itself
	parent *Inode
	mu     sync.Mutex
	kids   map[string]*Inode // directories handed out, so that lookups return the same one
}

// Node returns the node of the inode.
func (in *Inode) Node() *Node { return in.node }

// Ino gives every path a stable inode number (the root is 1).
func Ino(path string) uint64 {
	if path == "" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64()&0xffffffff | 0x1000
}

// Type returns the S_IFMT bits of the node.
func (in *Inode) Type() uint32 { return in.node.typ() }

// Stat reports size 0 as Linux does for proc and sysfs files, the boot
// time as the times, root as the owner.
func (in *Inode) Stat() vfs.Stat {
	ts := in.fs.boot
	st := vfs.Stat{Dev: in.fs.dev, Ino: Ino(in.path), Nlink: 1, Mode: in.node.Mode, Blksize: 1024,
		Atime: ts, Mtime: ts, Ctime: ts}
	if in.node.typ() == vfs.S_IFDIR {
		st.Nlink = 2
	}
	return st
}

// Permission checks mode bits as for any file (root: only execution needs
// an x bit).
func (in *Inode) Permission(ctx vfs.Context, mask uint32) error {
	return vfs.GenericPermission(ctx.Cred(), in.node.Mode, 0, 0, mask)
}

// Parent returns the directory the inode was looked up in.
func (in *Inode) Parent() (vfs.Inode, string) {
	if in.parent == in {
		return in, ""
	}
	return in.parent, in.node.Name
}

// Lookup finds the entry name: ENOENT, ENOTDIR.
func (in *Inode) Lookup(ctx vfs.Context, name string) (vfs.Inode, error) {
	if in.node.typ() != vfs.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	c := in.node.child(ctx, name)
	if c == nil {
		return nil, unix.ENOENT
	}
	k := &Inode{fs: in.fs, node: c, path: in.path + "/" + name, parent: in}
	if c.typ() != vfs.S_IFDIR {
		return k.AsVFS(), nil
	}
	// A directory keeps its identity across lookups (a mount point, the
	// working directory, ".." of what was looked up in it), with the
	// fresh node.
	in.mu.Lock()
	defer in.mu.Unlock()
	if old := in.kids[name]; old != nil {
		old.node = c
		return old, nil
	}
	if in.kids == nil {
		in.kids = map[string]*Inode{}
	}
	in.kids[name] = k
	return k, nil
}

// Readlink returns the target of a symbolic link; EINVAL otherwise.
func (in *Inode) Readlink(ctx vfs.Context) (string, error) {
	if in.node.typ() != vfs.S_IFLNK || in.node.Link == nil {
		return "", unix.EINVAL
	}
	return in.node.Link(ctx)
}

// magicLink is an Inode of a magic link (vfs.MagicLink).
type magicLink struct{ *Inode }

// MagicTarget follows the magic link.
func (m magicLink) MagicTarget(ctx vfs.Context, at vfs.Loc) (vfs.Loc, error) {
	return m.node.Magic(ctx, at)
}

// AsVFS returns the inode as the VFS should see it: magic links implement
// vfs.MagicLink.
func (in *Inode) AsVFS() vfs.Inode {
	if in.node.Magic != nil {
		return magicLink{in}
	}
	return in
}

// Open opens the node: a symlink (without O_PATH) is ELOOP, a directory
// EISDIR unless read-only, O_DIRECTORY on a non-directory ENOTDIR. The
// caller is root, so the mode bits do not restrict reads and writes.
func (in *Inode) Open(ctx vfs.Context, flags int) (vfs.File, error) {
	n := in.node
	acc := flags & unix.O_ACCMODE
	if flags&unix.O_PATH == 0 {
		switch {
		case n.typ() == vfs.S_IFLNK:
			return nil, unix.ELOOP
		case n.typ() == vfs.S_IFDIR && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0 || flags&unix.O_CREAT != 0):
			return nil, unix.EISDIR
		}
		if err := vfs.GenericPermission(ctx.Cred(), n.Mode, 0, 0, accessMask(flags)); err != nil {
			return nil, err
		}
	}
	if flags&unix.O_DIRECTORY != 0 && n.typ() != vfs.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	f := &File{in: in, ctx: ctx, flags: flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_NOCTTY | unix.O_CLOEXEC)}
	if flags&unix.O_PATH == 0 && n.typ() == vfs.S_IFREG && n.Data != nil && acc != unix.O_WRONLY {
		f.data = n.Data(ctx)
	}
	return f, nil
}

func accessMask(flags int) uint32 {
	switch flags & unix.O_ACCMODE {
	case unix.O_WRONLY:
		return vfs.MayWrite
	case unix.O_RDWR:
		return vfs.MayRead | vfs.MayWrite
	}
	return vfs.MayRead
}

// Create and the other operations that make names fail as the filesystem
// says (Errors).
func (in *Inode) Create(ctx vfs.Context, name string, mode uint32, flags int) (vfs.File, error) {
	return nil, in.fs.errs.CreateOpen
}

// Tmpfile is EOPNOTSUPP.
func (in *Inode) Tmpfile(ctx vfs.Context, mode uint32, flags int) (vfs.File, error) {
	return nil, unix.EOPNOTSUPP
}

// Mkdir fails, see Errors.
func (in *Inode) Mkdir(ctx vfs.Context, name string, mode uint32) error { return in.createErr(name) }

// Mknod fails, see Errors.
func (in *Inode) Mknod(ctx vfs.Context, name string, mode uint32, rdev uint64) error {
	return in.createErr(name)
}

// Symlink fails, see Errors.
func (in *Inode) Symlink(ctx vfs.Context, name, target string) error { return in.createErr(name) }

// Link is EPERM.
func (in *Inode) Link(ctx vfs.Context, name string, target vfs.Inode) error { return unix.EPERM }

func (in *Inode) createErr(name string) error { return in.fs.errs.Create }

// Unlink, Rmdir, Rename and Setattr are EPERM (truncation EACCES).
func (in *Inode) Unlink(ctx vfs.Context, name string) error { return unix.EPERM }

// Rmdir is EPERM.
func (in *Inode) Rmdir(ctx vfs.Context, name string) error { return unix.EPERM }

// Rename is EPERM.
func (in *Inode) Rename(ctx vfs.Context, oldName string, newDir vfs.Inode, newName string, flags uint) error {
	return unix.EPERM
}

// Setattr refuses: EACCES to truncate, EPERM for the rest.
func (in *Inode) Setattr(ctx vfs.Context, a vfs.Setattr) error {
	if a.Size != nil {
		return unix.EACCES
	}
	return unix.EPERM
}

// File is an open kernfs file.
type File struct {
	vfs.AlwaysReady
	in    *Inode
	ctx   vfs.Context
	mu    sync.Mutex
	flags int
	data  []byte
	off   int64
}

// Inode returns the inode of the file.
func (f *File) Inode() vfs.Inode { return f.in }

// KernfsInode returns the inode of the file.
func (f *File) KernfsInode() *Inode { return f.in }

func (f *File) isPath() bool { return f.flags&unix.O_PATH != 0 }

// Read reads the snapshot: EBADF if not open for reading, EISDIR.
func (f *File) Read(p []byte) (int, error) {
	if f.isPath() || f.flags&unix.O_ACCMODE == unix.O_WRONLY {
		return 0, unix.EBADF
	}
	if f.in.node.typ() == vfs.S_IFDIR {
		return 0, unix.EISDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.readAt(p, f.off)
	f.off += int64(n)
	return n, nil
}

func (f *File) readAt(p []byte, off int64) int {
	if off >= int64(len(f.data)) {
		return 0
	}
	return copy(p, f.data[off:])
}

// Pread reads the snapshot at off.
func (f *File) Pread(p []byte, off int64) (int, error) {
	if f.isPath() || f.flags&unix.O_ACCMODE == unix.O_WRONLY {
		return 0, unix.EBADF
	}
	if f.in.node.typ() == vfs.S_IFDIR {
		return 0, unix.EISDIR
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readAt(p, off), nil
}

// Write passes p to the node's write operation: EBADF if not open for
// writing, EINVAL without one.
func (f *File) Write(p []byte) (int, error) {
	if f.isPath() || f.flags&unix.O_ACCMODE == unix.O_RDONLY {
		return 0, unix.EBADF
	}
	if f.in.node.Write == nil {
		return 0, unix.EINVAL
	}
	return f.in.node.Write(f.ctx, p)
}

// Pwrite is Write (the offset is ignored, as for seq_files).
func (f *File) Pwrite(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	return f.Write(p)
}

// Seek moves in the snapshot, or in the directory listing.
func (f *File) Seek(off int64, whence int) (int64, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pos, err := vfs.Seek(f.off, int64(len(f.data)), off, whence, f.in.node.typ() == vfs.S_IFDIR)
	if err != nil {
		return 0, err
	}
	f.off = pos
	return pos, nil
}

// Ioctl is ENOTTY: proc and sysfs files have no ioctls.
func (f *File) Ioctl(ctx vfs.Context, req, arg uintptr) (uintptr, error) {
	return 0, unix.ENOTTY
}

// Stat returns the inode's attributes.
func (f *File) Stat() (vfs.Stat, error) { return f.in.Stat(), nil }

// Truncate is EINVAL (EBADF for O_PATH).
func (f *File) Truncate(size int64) error {
	if f.isPath() {
		return unix.EBADF
	}
	return unix.EINVAL
}

// Flags returns the status flags.
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// SetFlags changes O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT and O_NOATIME.
func (f *File) SetFlags(flags int) {
	const settable = unix.O_APPEND | unix.O_NONBLOCK | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = f.flags&^settable | flags&settable
}

// Close does nothing.
func (f *File) Close() error { return nil }

// ReadHint bounds the buffer of a read to what the snapshot holds.
func (f *File) ReadHint(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(min(int64(n), max(int64(len(f.data))-f.off, 0)+1))
}

// entries lists the directory with "." and "..", each d_off the index of
// the next.
func (f *File) entries() ([]vfs.Dirent, error) {
	in := f.in
	if in.node.typ() != vfs.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	ents := []vfs.Dirent{
		{Ino: Ino(in.path), Type: unix.DT_DIR, Name: "."},
		{Ino: Ino(in.parent.path), Type: unix.DT_DIR, Name: ".."},
	}
	if in.parent == in {
		ents[1].Ino = 2 // the root of the root filesystem
	}
	list := in.node.List(f.ctx)
	names := make(map[string]bool, len(list))
	for _, c := range list {
		names[c.Name] = true
		ents = append(ents, vfs.Dirent{Ino: Ino(in.path + "/" + c.Name), Type: vfs.DirentType(c.typ()), Name: c.Name})
	}
	// Forget the directories that are gone (a thread's /proc/1/task/N).
	in.mu.Lock()
	for name := range in.kids {
		if !names[name] {
			delete(in.kids, name)
		}
	}
	in.mu.Unlock()
	for i := range ents {
		ents[i].Off = int64(i + 1)
	}
	return ents, nil
}

// ReadDir fills p with getdents64(2) records.
func (f *File) ReadDir(p []byte) (int, error) { return f.readDir(p, false) }

// ReadDirLegacy fills p with getdents(2) records.
func (f *File) ReadDirLegacy(p []byte) (int, error) { return f.readDir(p, true) }

func (f *File) readDir(p []byte, legacy bool) (int, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	ents, err := f.entries()
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.off >= int64(len(ents)) {
		return 0, nil
	}
	n, k := vfs.EncodeDirents(p, ents[f.off:], legacy)
	if k == 0 {
		return 0, unix.EINVAL
	}
	f.off += int64(k)
	return n, nil
}
