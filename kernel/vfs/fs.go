// Package vfs is gosv's virtual filesystem switch: the mount table, path
// resolution across mounts (path_resolution(7), openat2(2)), and the
// interfaces that filesystem implementations (kernel/fsimpl/...) provide.
//
// The VFS owns everything about a path: splitting it into components,
// symbolic links (at most MaxSymlinks, then ELOOP), trailing slashes, ".."
// across mount points, search permission on every directory on the way,
// read-only mounts (EROFS) and the errors that depend only on the shape of
// the path ("/", "." or ".." as a final component). A filesystem answers
// per-directory questions (look up, create, remove or rename one name) and
// opens its inodes. Errors are golang.org/x/sys/unix Errno values, ready to
// be returned negated to the application.
package vfs

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Filesystem is one mounted instance of a filesystem type (a superblock).
type Filesystem interface {
	// Root is the root directory of the filesystem.
	Root() Inode
	// Type is the name of the type as /proc/mounts shows it ("tmpfs").
	Type() string
	// Statfs describes the filesystem as statfs(2) does; the VFS adds
	// ST_RDONLY and the other mount flags.
	Statfs() Statfs
	// Options are the filesystem's own options for /proc/mounts
	// ("size=1024k,mode=755"), without the mount flags; may be "".
	Options() string
}

// Remounter is implemented by filesystems whose options mount(2) with
// MS_REMOUNT (without MS_BIND) may change: data is the new option string.
type Remounter interface {
	Remount(flags uint64, data string) error
}

// Inode is a file of a filesystem. The methods that act on a name (Lookup,
// Create, Mkdir, ...) are called on directories; a filesystem returns
// ENOTDIR for them on other inodes, EPERM or EACCES for operations it does
// not support. Names are never "", "." or ".." and at most NameMax bytes.
// The VFS checks search permission on the directory and the read-only
// mount flag before calling; the rest (write permission on the directory,
// the sticky bit, ownership) is the filesystem's.
type Inode interface {
	// Stat returns the attributes (stat(2)).
	Stat() Stat
	// Permission checks MayRead/MayWrite/MayExec access for c.
	Permission(ctx Context, mask uint32) error
	// Parent returns the directory holding this directory and the name
	// it has there; the root of the filesystem returns itself and "". It
	// is only called on directories.
	Parent() (Inode, string)

	// Lookup returns the inode named name in the directory; ENOENT.
	Lookup(ctx Context, name string) (Inode, error)
	// Readlink returns the target of a symbolic link; EINVAL otherwise.
	Readlink(ctx Context) (string, error)
	// Open opens the existing inode with open(2) flags (O_CREAT, O_EXCL
	// and O_NOFOLLOW already handled): EISDIR, ENOTDIR for O_DIRECTORY,
	// ELOOP for a symlink without O_PATH, EACCES, ENXIO, O_TRUNC.
	Open(ctx Context, flags int) (File, error)
	// Create creates and opens a regular file name with permission mode
	// (umask already applied); EEXIST if the name exists.
	Create(ctx Context, name string, mode uint32, flags int) (File, error)
	// Tmpfile creates and opens an unnamed regular file in the directory
	// (O_TMPFILE).
	Tmpfile(ctx Context, mode uint32, flags int) (File, error)
	// Mkdir creates a directory (mode: umask applied, S_ISVTX kept).
	Mkdir(ctx Context, name string, mode uint32) error
	// Mknod creates a regular file, FIFO, socket or device node.
	Mknod(ctx Context, name string, mode uint32, rdev uint64) error
	// Symlink creates a symbolic link name with contents target.
	Symlink(ctx Context, name, target string) error
	// Link enters target (of the same filesystem) under name.
	Link(ctx Context, name string, target Inode) error
	// Unlink removes the non-directory name.
	Unlink(ctx Context, name string) error
	// Rmdir removes the empty directory name.
	Rmdir(ctx Context, name string) error
	// Rename moves oldName to newName in newDir (of the same filesystem)
	// with renameat2(2) flags.
	Rename(ctx Context, oldName string, newDir Inode, newName string, flags uint) error
	// Setattr changes attributes: chmod, chown, utimens, truncate.
	Setattr(ctx Context, a Setattr) error
}

// Context is the caller of an operation: the task, as far as filesystems
// and files need to know it. kernel/linux's Task implements it;
// CredContext serves callers without a task.
type Context interface {
	// Cred returns the credentials of permission checks.
	Cred() *Cred
	// ThreadID returns the caller's thread id (0 without a task), for
	// /proc/thread-self.
	ThreadID() int
	// Interrupted is ready when a blocking operation must stop and return
	// EINTR (a signal, the exit of the thread group); nil never is.
	Interrupted() <-chan struct{}
	// CopyIn and CopyOut reach the caller's memory (ioctl arguments):
	// EFAULT for a bad address.
	CopyIn(dst []byte, addr uintptr) error
	CopyOut(addr uintptr, src []byte) error
}

// CredContext is a Context with credentials and no task: nothing
// interrupts it and it has no memory (EFAULT).
type CredContext struct{ C Cred }

// Cred returns the credentials.
func (c *CredContext) Cred() *Cred { return &c.C }

// ThreadID returns 0.
func (c *CredContext) ThreadID() int { return 0 }

// Interrupted returns nil: never.
func (c *CredContext) Interrupted() <-chan struct{} { return nil }

// CopyIn fails with EFAULT.
func (c *CredContext) CopyIn(dst []byte, addr uintptr) error { return unix.EFAULT }

// CopyOut fails with EFAULT.
func (c *CredContext) CopyOut(addr uintptr, src []byte) error { return unix.EFAULT }

// RootContext is the context of the kernel's own operations: root, no task.
var RootContext Context = &CredContext{}

// Setattr says which attributes Inode.Setattr changes.
type Setattr struct {
	Mode     *uint32      // chmod(2): the 07777 bits
	UID, GID int          // chown(2): -1 leaves it
	Chown    bool         // UID and GID are set
	Times    *[2]Timespec // utimensat(2), with UTIME_NOW and UTIME_OMIT
	TimesNow bool         // utimensat(2) with a NULL times: both now
	Size     *int64       // truncate(2)
}

// File is an open file of a filesystem, as Inode.Open returns it. Its
// methods follow the system calls of the same names; like them, and unlike
// io.Reader, Read returns 0, nil at end of file.
type File interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Pread(p []byte, off int64) (int, error)
	Pwrite(p []byte, off int64) (int, error)
	Seek(off int64, whence int) (int64, error)
	Stat() (Stat, error)
	// ReadDir fills p with getdents64(2) records, ReadDirLegacy with
	// getdents(2) ones (see EncodeDirents).
	ReadDir(p []byte) (int, error)
	ReadDirLegacy(p []byte) (int, error)
	Truncate(size int64) error
	// Ioctl performs ioctl(2) request req with argument arg (an address
	// in ctx's memory for most requests): ENOTTY when the file has no
	// such request.
	Ioctl(ctx Context, req, arg uintptr) (uintptr, error)
	Flags() int
	SetFlags(flags int)
	Close() error
	// Inode is the inode the file was opened from.
	Inode() Inode
	// Readiness for poll, select and epoll (gVisor's waiter.Waitable):
	// Readiness, EventRegister, EventUnregister.
	waiter.Waitable
}

// AlwaysReady is the readiness of files that never block: regular files,
// directories, memory devices and synthetic files are always readable and
// writable (poll(2) on a regular file), so there is nothing to wait for.
type AlwaysReady struct{}

// Readiness reports mask's readable and writable events.
func (AlwaysReady) Readiness(mask waiter.EventMask) waiter.EventMask {
	return mask & (waiter.ReadableEvents | waiter.WritableEvents)
}

// EventRegister does nothing: the readiness never changes.
func (AlwaysReady) EventRegister(e *waiter.Entry) error { return nil }

// EventUnregister does nothing.
func (AlwaysReady) EventUnregister(e *waiter.Entry) {}

// AuxHolder is implemented by inodes that keep a value for layers above
// the filesystem, such as the pipe behind a FIFO (fifo(7)).
type AuxHolder interface {
	LoadOrStoreAux(v any) any
}

// Statfs is struct statfs of statfs(2).
type Statfs struct {
	Type, Bsize, Blocks, Bfree, Bavail, Files, Ffree uint64
	Fsid                                             [2]int32
	Namelen, Frsize, Flags                           uint64
}

// Flags of Statfs.Flags (f_flags, statfs(2)).
const (
	ST_VALID    = 0x20
	ST_RDONLY   = 0x1
	ST_NOSUID   = 0x2
	ST_NODEV    = 0x4
	ST_NOEXEC   = 0x8
	ST_RELATIME = 0x1000
)

// Marshal encodes s as the x86-64 struct statfs (120 bytes).
func (s Statfs) Marshal() []byte {
	b := make([]byte, 120)
	for i, v := range []uint64{s.Type, s.Bsize, s.Blocks, s.Bfree, s.Bavail, s.Files, s.Ffree} {
		putU64(b[8*i:], v)
	}
	putU64(b[56:], uint64(uint32(s.Fsid[0]))|uint64(uint32(s.Fsid[1]))<<32)
	putU64(b[64:], s.Namelen)
	putU64(b[72:], s.Frsize)
	putU64(b[80:], s.Flags)
	return b
}

func putU64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
