package vfs

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Mount flags of mount(2) (MS_*), and umount2(2) flags.
const (
	MS_RDONLY      = unix.MS_RDONLY
	MS_NOSUID      = unix.MS_NOSUID
	MS_NODEV       = unix.MS_NODEV
	MS_NOEXEC      = unix.MS_NOEXEC
	MS_SYNCHRONOUS = unix.MS_SYNCHRONOUS
	MS_REMOUNT     = unix.MS_REMOUNT
	MS_MANDLOCK    = unix.MS_MANDLOCK
	MS_DIRSYNC     = unix.MS_DIRSYNC
	MS_NOSYMFOLLOW = 0x100
	MS_NOATIME     = unix.MS_NOATIME
	MS_NODIRATIME  = unix.MS_NODIRATIME
	MS_BIND        = unix.MS_BIND
	MS_MOVE        = unix.MS_MOVE
	MS_REC         = unix.MS_REC
	MS_SILENT      = unix.MS_SILENT
	MS_UNBINDABLE  = unix.MS_UNBINDABLE
	MS_PRIVATE     = unix.MS_PRIVATE
	MS_SLAVE       = unix.MS_SLAVE
	MS_SHARED      = unix.MS_SHARED
	MS_RELATIME    = unix.MS_RELATIME
	MS_STRICTATIME = unix.MS_STRICTATIME
	MS_LAZYTIME    = unix.MS_LAZYTIME
	MS_MGC_MSK     = 0xffff0000
	MS_MGC_VAL     = 0xc0ed0000

	MNT_FORCE       = unix.MNT_FORCE
	MNT_DETACH      = unix.MNT_DETACH
	MNT_EXPIRE      = unix.MNT_EXPIRE
	UMOUNT_NOFOLLOW = unix.UMOUNT_NOFOLLOW

	// perMountFlags are the flags a mount keeps (the rest select the
	// operation).
	perMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW |
		MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_SYNCHRONOUS |
		MS_DIRSYNC | MS_MANDLOCK | MS_LAZYTIME
	propagationFlags = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE
)

// FSType creates a filesystem for mount(2) from its source ("none",
// ignored by memory filesystems), the mount flags and the data string of
// comma-separated options ("size=64m,mode=1777"); EINVAL for a bad option.
type FSType func(source string, flags uint64, data string) (Filesystem, error)

// Mount is one entry of the mount table: a filesystem (or a directory of
// it, for a bind mount) attached at a directory of its parent mount.
type Mount struct {
	ID     int
	fs     Filesystem
	root   Inode  // the mount's root: the filesystem's, or a bind mount's source
	parent *Mount // nil for the root mount
	point  Inode  // the mount point, in parent
	path   string // absolute path of the mount point (mount points cannot be renamed)
	within string // path of root inside the filesystem ("/" unless a bind mount)
	source string
	flags  uint64 // perMountFlags
	dead   bool   // unmounted
	users  atomic.Int64
}

// Hold records a user of the mount (an open file), which makes umount2
// without MNT_DETACH fail with EBUSY until Release.
func (m *Mount) Hold() { m.users.Add(1) }

// Release ends a Hold.
func (m *Mount) Release() { m.users.Add(-1) }

// Filesystem returns the filesystem the mount shows.
func (m *Mount) Filesystem() Filesystem { return m.fs }

// ReadOnly reports whether the mount is read-only (MS_RDONLY).
func (m *Mount) ReadOnly() bool { return m.flags&MS_RDONLY != 0 }

// Path returns the absolute path of the mount point.
func (m *Mount) Path() string { return m.path }

type mountKey struct {
	m  *Mount
	in Inode
}

// Namespace is a mount table (a mount namespace, mount_namespaces(7)): the
// mounts and the filesystem types mount(2) knows.
type Namespace struct {
	mu     sync.RWMutex
	root   *Mount
	mounts []*Mount            // in mount order
	at     map[mountKey]*Mount // mount points: (parent mount, inode) -> top mount
	types  map[string]FSType
	nextID int
}

// NewNamespace creates a mount table whose root mount shows root, mounted
// from source with flags (MS_RDONLY, ...).
func NewNamespace(root Filesystem, source string, flags uint64) *Namespace {
	ns := &Namespace{at: map[mountKey]*Mount{}, types: map[string]FSType{}, nextID: 21}
	ns.root = &Mount{ID: ns.allocID(), fs: root, root: root.Root(), path: "/", within: "/", source: source,
		flags: flags & perMountFlags}
	ns.mounts = []*Mount{ns.root}
	return ns
}

func (ns *Namespace) allocID() int {
	id := ns.nextID
	ns.nextID++
	return id
}

// RegisterType makes the filesystem type name available to mount(2).
func (ns *Namespace) RegisterType(name string, t FSType) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.types[name] = t
}

// Root returns the location of the root directory.
func (ns *Namespace) Root() Loc { return Loc{ns.root, ns.root.root} }

// mountedAt returns the mount on top of (m, in), or nil. ns.mu held.
func (ns *Namespace) mountedAt(m *Mount, in Inode) *Mount {
	if len(ns.at) == 0 {
		return nil
	}
	return ns.at[mountKey{m, in}]
}

// attach adds child at the location at. ns.mu held for writing.
func (ns *Namespace) attach(child *Mount, at Loc, path string) {
	child.parent, child.point, child.path = at.M, at.In, path
	ns.at[mountKey{at.M, at.In}] = child
	ns.mounts = append(ns.mounts, child)
}

// detach removes m and everything mounted below it. ns.mu held.
func (ns *Namespace) detach(m *Mount) {
	for _, c := range ns.mounts {
		if c.parent == m && !c.dead {
			ns.detach(c)
		}
	}
	m.dead = true
	delete(ns.at, mountKey{m.parent, m.point})
	out := ns.mounts[:0]
	for _, c := range ns.mounts {
		if c != m {
			out = append(out, c)
		}
	}
	ns.mounts = out
}

// Mount attaches a new filesystem of type fstype at target, as mount(2)
// without MS_BIND, MS_REMOUNT or MS_MOVE: ENODEV for an unknown type,
// ENOTDIR unless target is a directory.
func (ns *Namespace) Mount(source string, target Loc, targetPath, fstype string, flags uint64, data string) error {
	ns.mu.RLock()
	newFS := ns.types[fstype]
	ns.mu.RUnlock()
	if newFS == nil {
		return unix.ENODEV
	}
	if target.In.Stat().Mode&S_IFMT != S_IFDIR {
		return unix.ENOTDIR
	}
	fsys, err := newFS(source, flags, data)
	if err != nil {
		return err
	}
	return ns.MountFilesystem(fsys, source, target, targetPath, flags)
}

// MountFilesystem attaches the filesystem fsys at target (a directory
// whose absolute path is targetPath), as the kernel does for the
// filesystems it mounts at boot.
func (ns *Namespace) MountFilesystem(fsys Filesystem, source string, target Loc, targetPath string, flags uint64) error {
	if target.In.Stat().Mode&S_IFMT != S_IFDIR {
		return unix.ENOTDIR
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if target.M.dead {
		return unix.ENOENT
	}
	ns.attach(&Mount{ID: ns.allocID(), fs: fsys, root: fsys.Root(), within: "/", source: source,
		flags: flags & perMountFlags}, target, targetPath)
	return nil
}

// Bind mounts the file or directory src (whose absolute path is srcPath)
// at target (MS_BIND): both must be directories or both non-directories
// (ENOTDIR, EISDIR otherwise). With rec (MS_REC) the mounts below src are
// bound too.
func (ns *Namespace) Bind(src Loc, srcPath string, target Loc, targetPath string, flags uint64, rec bool) error {
	sdir := src.In.Stat().Mode&S_IFMT == S_IFDIR
	tdir := target.In.Stat().Mode&S_IFMT == S_IFDIR
	switch {
	case sdir && !tdir:
		return unix.ENOTDIR
	case !sdir && tdir:
		return unix.EISDIR
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if target.M.dead || src.M.dead {
		return unix.ENOENT
	}
	within := cleanJoin(src.M.within, strings.TrimPrefix(srcPath, src.M.path))
	if within != "/" {
		within = strings.TrimSuffix(within, "/")
	}
	m := &Mount{ID: ns.allocID(), fs: src.M.fs, root: src.In, within: within, source: src.M.source,
		flags: src.M.flags&^MS_RDONLY | flags&MS_RDONLY}
	// With MS_REC, the tree to copy is taken before anything is attached
	// (as Linux's copy_tree): a target inside that tree must not see its
	// own copy copied again, endlessly.
	var below []*Mount
	children := map[*Mount][]*Mount{}
	if rec {
		below = ns.below(src, srcPath)
		for _, g := range ns.mounts {
			if g.parent != nil {
				children[g.parent] = append(children[g.parent], g)
			}
		}
	}
	ns.attach(m, target, targetPath)
	// Copies of the mounts below src, and of those below them, keep their
	// place relative to src.
	var copyBelow func(cp *Mount, list []*Mount)
	copyBelow = func(cp *Mount, list []*Mount) {
		for _, c := range list {
			nc := &Mount{ID: ns.allocID(), fs: c.fs, root: c.root, within: c.within, source: c.source, flags: c.flags}
			ns.attach(nc, Loc{cp, c.point}, cleanJoin(targetPath, strings.TrimPrefix(c.path, srcPath)))
			copyBelow(nc, children[c])
		}
	}
	copyBelow(m, below)
	return nil
}

// below lists the mounts of src's mount whose mount point is under the
// directory src (at srcPath), in mount order. ns.mu held.
func (ns *Namespace) below(src Loc, srcPath string) []*Mount {
	var out []*Mount
	for _, c := range ns.mounts {
		if c.parent == src.M && (srcPath == "/" || c.path == srcPath || strings.HasPrefix(c.path, srcPath+"/")) {
			out = append(out, c)
		}
	}
	return out
}

func cleanJoin(dir, name string) string {
	if name == "" {
		return dir
	}
	if strings.HasSuffix(dir, "/") {
		return dir + strings.TrimPrefix(name, "/")
	}
	return dir + "/" + strings.TrimPrefix(name, "/")
}

// Remount changes the flags of the mount whose root is target, as mount(2)
// with MS_REMOUNT (EINVAL when target is not the root of a mount). With
// MS_BIND only the per-mount flags change; otherwise the filesystem takes
// the options in data too (Remounter), if it has any.
func (ns *Namespace) Remount(target Loc, flags uint64, data string) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if target.In != target.M.root {
		return unix.EINVAL
	}
	if r, ok := target.M.fs.(Remounter); ok && flags&MS_BIND == 0 {
		if err := r.Remount(flags, data); err != nil {
			return err
		}
	}
	target.M.flags = flags & perMountFlags
	return nil
}

// SetPropagation accepts MS_SHARED, MS_PRIVATE, MS_SLAVE and
// MS_UNBINDABLE on the root of a mount (EINVAL otherwise). There is one
// mount namespace, so propagation has nothing to act on.
func (ns *Namespace) SetPropagation(target Loc) error {
	if target.In != target.M.root {
		return unix.EINVAL
	}
	return nil
}

// Move moves the mount whose root is src to target (MS_MOVE): EINVAL if
// src is not a mount root, is the root mount, or target is below it.
func (ns *Namespace) Move(src, target Loc, targetPath string) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	m := src.M
	if src.In != m.root || m.parent == nil {
		return unix.EINVAL
	}
	for p := target.M; p != nil; p = p.parent {
		if p == m {
			return unix.EINVAL
		}
	}
	if target.In.Stat().Mode&S_IFMT != src.In.Stat().Mode&S_IFMT {
		return unix.ENOTDIR
	}
	old := m.path
	delete(ns.at, mountKey{m.parent, m.point})
	m.parent, m.point, m.path = target.M, target.In, targetPath
	ns.at[mountKey{target.M, target.In}] = m
	for _, c := range ns.mounts {
		if c != m && strings.HasPrefix(c.path, old+"/") && ns.isBelow(c, m) {
			c.path = targetPath + c.path[len(old):]
		}
	}
	return nil
}

func (ns *Namespace) isBelow(c, m *Mount) bool {
	for p := c.parent; p != nil; p = p.parent {
		if p == m {
			return true
		}
	}
	return false
}

// Umount detaches the mount whose root is target, as umount2(2): EINVAL
// if target is not the root of a mount, EBUSY for the root mount, or when
// mounts sit below it, files on it are open (Hold) or busy (the working
// directory is in it) reports true, unless MNT_DETACH (lazy unmount) is
// given, which detaches the whole subtree at once; open files keep
// working.
func (ns *Namespace) Umount(target Loc, flags int, busy func(*Mount) bool) error {
	if flags&^(MNT_FORCE|MNT_DETACH|MNT_EXPIRE|UMOUNT_NOFOLLOW) != 0 ||
		flags&MNT_EXPIRE != 0 && flags&(MNT_FORCE|MNT_DETACH) != 0 {
		return unix.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	m := target.M
	if target.In != m.root {
		return unix.EINVAL
	}
	if m.parent == nil {
		return unix.EBUSY
	}
	if flags&MNT_EXPIRE != 0 {
		return unix.EAGAIN // the first MNT_EXPIRE only marks the mount
	}
	if flags&MNT_DETACH == 0 {
		for _, c := range ns.mounts {
			if c.parent == m {
				return unix.EBUSY
			}
		}
		if m.users.Load() > 0 || busy != nil && busy(m) {
			return unix.EBUSY
		}
	}
	ns.detach(m)
	return nil
}

// MountInfo describes a mount for /proc/mounts and /proc/self/mountinfo.
type MountInfo struct {
	ID, ParentID int
	Dev          uint64 // st_dev of the filesystem's files
	Root         string // the mount's root inside its filesystem ("/" unless a bind mount)
	Path         string // the mount point
	Type         string
	Source       string
	ReadOnly     bool
	Flags        uint64 // MS_* per-mount flags
	Options      string // the filesystem's own options
}

// MountOptions is the per-mount option list of /proc/mounts ("rw,nosuid,relatime").
func (mi MountInfo) MountOptions() string {
	opts := []string{"rw"}
	if mi.ReadOnly {
		opts[0] = "ro"
	}
	for _, f := range []struct {
		bit  uint64
		name string
	}{{MS_NOSUID, "nosuid"}, {MS_NODEV, "nodev"}, {MS_NOEXEC, "noexec"}, {MS_SYNCHRONOUS, "sync"},
		{MS_DIRSYNC, "dirsync"}, {MS_NOATIME, "noatime"}, {MS_NODIRATIME, "nodiratime"}} {
		if mi.Flags&f.bit != 0 {
			opts = append(opts, f.name)
		}
	}
	if mi.Flags&(MS_NOATIME|MS_STRICTATIME) == 0 {
		opts = append(opts, "relatime")
	}
	return strings.Join(opts, ",")
}

// Mounts lists the mount table in mount order (parents before children).
func (ns *Namespace) Mounts() []MountInfo {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	out := make([]MountInfo, 0, len(ns.mounts))
	for _, m := range ns.mounts {
		mi := MountInfo{ID: m.ID, ParentID: 1, Dev: m.root.Stat().Dev, Path: m.path,
			Type: m.fs.Type(), Source: m.source, ReadOnly: m.ReadOnly(), Flags: m.flags,
			Options: m.fs.Options(), Root: m.within}
		if m.parent != nil {
			mi.ParentID = m.parent.ID
		}
		out = append(out, mi)
	}
	return out
}

// ProcMounts formats the table as /proc/mounts (fstab(5) lines).
func (ns *Namespace) ProcMounts() []byte {
	var b strings.Builder
	for _, mi := range ns.Mounts() {
		opts := mi.MountOptions()
		if mi.Options != "" {
			opts += "," + mi.Options
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", escapeMount(mi.Source), escapeMount(mi.Path), mi.Type, opts)
	}
	return []byte(b.String())
}

// ProcMountinfo formats the table as /proc/self/mountinfo (proc(5)).
func (ns *Namespace) ProcMountinfo() []byte {
	var b strings.Builder
	for _, mi := range ns.Mounts() {
		super := "rw"
		if mi.Options != "" {
			super += "," + mi.Options
		}
		fmt.Fprintf(&b, "%d %d %d:%d %s %s %s - %s %s %s\n", mi.ID, mi.ParentID,
			Major(mi.Dev), Minor(mi.Dev), escapeMount(mi.Root), escapeMount(mi.Path),
			mi.MountOptions(), mi.Type, escapeMount(mi.Source), super)
	}
	return []byte(b.String())
}

// escapeMount escapes space, tab, newline and backslash as octal, as the
// kernel's mangle() does for /proc/mounts.
func escapeMount(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MountOf returns the mount whose mount point is the absolute path p, the
// last one mounted there, or nil.
func (ns *Namespace) MountOf(p string) *Mount {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	for i := len(ns.mounts) - 1; i >= 0; i-- {
		if ns.mounts[i].path == p {
			return ns.mounts[i]
		}
	}
	return nil
}
