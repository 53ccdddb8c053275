// Package linux is the Linux x86-64 syscall ABI served to the app: one
// table of handlers with support levels (syscall.go) over the kernel
// objects of kernel/task, the VFS and the network stack.
//
// Files by family: sys_file.go, file_*.go (files, directories and mounts,
// over kernel/vfs), pipe.go (pipes and FIFOs), procfs.go (the process
// files of /proc), sys_mem.go (memory), sys_thread.go, sys_clone.go
// (threads), sys_signal.go (signals), sys_time.go (clocks, sleeps,
// timerfd), sys_event.go, epoll.go, eventfd.go (epoll, eventfd, poll,
// select), sys_socket.go, sys_sockmsg.go, socket_file.go (sockets),
// sys_res.go (rlimits, rusage), sys_misc.go, sys_xattr.go. Every handler
// has the shape of task.SyscallFn and returns the value for RAX or an
// errno.
//
// The package is ordinary Go and runs on the host in `go test` with fake
// memory (task.HostPlatform); the kernel passes task.MachinePlatform.
package linux
