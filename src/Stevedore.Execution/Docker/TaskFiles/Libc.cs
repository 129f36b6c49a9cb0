using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>
/// The few Linux calls .NET does not offer and the task folder needs: open without following a link or blocking,
/// the type of an opened file, and tmpfs mounts. Constants are those of x86-64 and arm64 Linux; elsewhere
/// <see cref="Supported"/> is false and the host copies task files through the engine instead.
/// </summary>
internal static class Libc
{
    private const int ORdOnly = 0;
    private const int ONoCtty = 0x100;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1, StatxMode = 0x2, StatxUid = 0x8, StatxSize = 0x200;
    private const ulong MsNoSuid = 0x2, MsNoDev = 0x4, MsRemount = 0x20;
    private const int MntDetach = 0x2;

    public const int ENOENT = 2;
    public const int EINVAL = 22;
    public const int ELOOP = 40;

    public const uint SIfMt = 0xF000, SIfReg = 0x8000, SIfDir = 0x4000, SIfLnk = 0xA000, SIfIfo = 0x1000, SIfChr = 0x2000, SIfBlk = 0x6000, SIfSock = 0xC000;

    // O_NOFOLLOW is one of the few flags whose value differs between architectures.
    private static readonly int s_noFollow = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x20000,
        Architecture.Arm64 => 0x8000,
        _ => 0,
    };

    public static bool Supported => OperatingSystem.IsLinux() && s_noFollow != 0;

    /// <summary>What statx says of a file: its type and permission bits, owner and size.</summary>
    public readonly record struct FileStatus(uint Mode, uint Uid, long Size)
    {
        public uint Type => Mode & SIfMt;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading the way a host must open a file a job controls: a link is not
    /// followed (ELOOP), a FIFO or device does not block the open, the descriptor is not inherited.
    /// </summary>
    public static SafeFdHandle OpenNoFollow(string path, out int errno)
    {
        var fd = open(path, ORdOnly | s_noFollow | ONonBlock | OCloExec | ONoCtty);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return new SafeFdHandle(fd);
    }

    /// <summary>The status of an opened file (fstat through statx, whose layout is the same on every architecture).</summary>
    public static FileStatus Status(SafeFdHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The status of <paramref name="path"/> itself (a link is not followed).</summary>
    public static FileStatus StatusNoFollow(string path) => Statx(AtFdCwd, path, AtSymlinkNoFollow);

    public static uint EffectiveUserId() => geteuid();

    public static void MountTmpfs(string target, string options)
    {
        if (mount("stevedore-task", target, "tmpfs", MsNoSuid | MsNoDev, options) != 0)
        {
            throw Error("mount a tmpfs at", target);
        }
    }

    /// <summary>Changes the options (its size) of the tmpfs mounted at <paramref name="target"/> by <see cref="MountTmpfs"/>.</summary>
    public static void RemountTmpfs(string target, string options)
    {
        if (mount("stevedore-task", target, "tmpfs", MsRemount | MsNoSuid | MsNoDev, options) != 0)
        {
            throw Error("resize the tmpfs at", target);
        }
    }

    /// <summary>Detaches the mount at <paramref name="target"/>: its files vanish with it, without walking them.</summary>
    public static void Unmount(string target)
    {
        if (umount2(target, MntDetach) != 0)
        {
            throw Error("unmount", target);
        }
    }

    public static int Read(SafeFdHandle handle, Span<byte> buffer)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                var n = read((int)handle.DangerousGetHandle(), ref MemoryMarshal.GetReference(buffer), buffer.Length);
                if (n >= 0)
                {
                    return (int)n;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != 4) // EINTR
                {
                    throw new IOException($"read failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static FileStatus Statx(int dirFd, string path, int flags)
    {
        var buffer = new byte[256];
        if (statx(dirFd, path, flags, StatxType | StatxMode | StatxUid | StatxSize, buffer) != 0)
        {
            throw Error("stat", path.Length == 0 ? "an open file" : path);
        }

        // struct statx: stx_uid at 20, stx_mode (16 bits) at 28, stx_size at 40.
        return new FileStatus(
            BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(28)),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(20)),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(40)));
    }

    private static IOException Error(string what, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"cannot {what} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    /// <summary>A file descriptor from <see cref="OpenNoFollow"/>; invalid when the open failed.</summary>
    internal sealed class SafeFdHandle : SafeHandle
    {
        public SafeFdHandle(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle < 0;

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, ref byte buffer, nint count);

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int mount(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string source,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string target,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string fileSystemType,
        ulong flags,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string data);

    [DllImport("libc", SetLastError = true)]
    private static extern int umount2([MarshalAs(UnmanagedType.LPUTF8Str)] string target, int flags);

    [DllImport("libc")]
    private static extern uint geteuid();
}
