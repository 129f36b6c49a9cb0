using System.Collections.Concurrent;
using System.Globalization;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>
/// Task files in a per-attempt folder of the host, bind-mounted at /stevedore: no file crosses the engine API. Each
/// folder is a tmpfs of its own, mounted by the host for the attempt and sized for its payload and result, so what a
/// job writes there is bounded by the kernel; it sits under <see cref="DockerOptions.TaskFilesPath"/>, a folder only
/// the host's user may enter. The host never follows a link or opens anything but a regular file from it
/// (<see cref="ResultFile.ReadFromHost"/>), and removes it by unmounting it: nothing in it is walked.
/// Needs a Linux host that may mount (root or CAP_SYS_ADMIN) and an engine that sees its mounts (a local engine).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class BindMountedTaskFiles : ITaskFiles
{
    /// <summary>Files and folders a job may create in its task folder.</summary>
    private const int MaxEntries = 1024;

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string _root;
    private readonly int _maxResultBytes;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _nodeFolders = new(StringComparer.Ordinal);

    private BindMountedTaskFiles(string root, int maxResultBytes, ILogger logger)
    {
        _root = root;
        _maxResultBytes = maxResultBytes;
        _logger = logger;
    }

    /// <summary>
    /// Makes <see cref="DockerOptions.TaskFilesPath"/> private to this host's user and checks that the host may mount
    /// a tmpfs there; throws saying why when it cannot.
    /// </summary>
    public static BindMountedTaskFiles Open(DockerOptions options, ILogger logger)
    {
        if (!Libc.Supported)
        {
            throw new PlatformNotSupportedException("bind-mounted task files need Linux on x86-64 or arm64");
        }

        var root = Path.GetFullPath(options.TaskFilesPath);
        EnsurePrivateFolder(root);
        var probe = Path.Combine(root, ".probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(probe, Private);
        try
        {
            Libc.MountTmpfs(probe, "size=4096,nr_inodes=4,mode=0700");
            Libc.Unmount(probe);
        }
        finally
        {
            Directory.Delete(probe);
        }

        return new BindMountedTaskFiles(root, options.MaxResultBytes, logger);
    }

    /// <summary>The most an attempt's folder holds: its payload, and room for a result file beside a temporary copy of it.</summary>
    public long LimitFor(int payloadBytes) => payloadBytes + (2L * _maxResultBytes);

    public ITaskFolder Prepare(ContainerRunRequest request)
    {
        var path = Path.Combine(NodeFolder(request.Node), $"{request.TaskId}-{request.Attempt.ToString(CultureInfo.InvariantCulture)}");
        if (Directory.Exists(path))
        {
            Release(path); // Left by an earlier run of this node that died.
        }

        return Mount(path, LimitFor(request.Payload.Length), extra: 0, "payload", request.Payload.Span, Readable);
    }

    /// <summary>
    /// A task folder for a spare container (Docker/Spares): mounted now, holding only <paramref name="shim"/> (the
    /// spare's first process, which deletes itself before the job runs); sized and filled when its task comes
    /// (<see cref="ISpareFolder.Assign"/>), to what a cold attempt's folder holds, plus the shim's size.
    /// </summary>
    public ISpareFolder PrepareSpare(string node, ReadOnlySpan<byte> shim)
    {
        var path = Path.Combine(NodeFolder(node), "spare-" + Guid.NewGuid().ToString("N"));
        return Mount(path, LimitFor(0), extra: shim.Length, Spares.SpareShim.ShimFile, shim, Readable | Executable);
    }

    /// <summary>
    /// Makes <paramref name="path"/> a private tmpfs of <paramref name="limit"/> + <paramref name="extra"/> bytes holding
    /// one new file, <paramref name="file"/>; undone when a step fails.
    /// </summary>
    private Folder Mount(string path, long limit, long extra, string file, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        Directory.CreateDirectory(path, Private);
        var mounted = false;
        try
        {
            Libc.MountTmpfs(path, $"size={limit + extra},nr_inodes={MaxEntries},mode=0777");
            mounted = true;
            WriteFile(Path.Combine(path, file), bytes, mode);
            return new Folder(this, path, limit, extra);
        }
        catch
        {
            Release(path, mounted);
            throw;
        }
    }

    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Executable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>A new file the job may read but not change (it may delete it: the folder is its own).</summary>
    private static void WriteReadable(string path, ReadOnlySpan<byte> bytes) => WriteFile(path, bytes, Readable);

    /// <summary>
    /// Creates <paramref name="path"/> (never through a link: it must not exist) and sets its mode on the open file, not
    /// by path: a spare's job runs beside this write and could swap the path for a link in between.
    /// </summary>
    private static void WriteFile(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        file.Write(bytes);
        File.SetUnixFileMode(file.SafeFileHandle, mode);
    }

    public void RemoveLeftovers(string node)
    {
        foreach (var folder in Directory.EnumerateDirectories(NodeFolder(node)))
        {
            Release(folder);
        }
    }

    private string NodeFolder(string node) => _nodeFolders.GetOrAdd(node, n =>
    {
        var name = string.Concat(n.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        var path = Path.Combine(_root, name.Length == 0 || name.Trim('.').Length == 0 ? "node" : name);
        EnsurePrivateFolder(path);
        return path;
    });

    /// <summary>Creates <paramref name="path"/> or takes it as it is only when it is a real folder of this user, then makes it 0700.</summary>
    private static void EnsurePrivateFolder(string path)
    {
        Directory.CreateDirectory(path, Private);
        var status = Libc.StatusNoFollow(path);
        if (status.Type != Libc.SIfDir)
        {
            throw new IOException($"{path} is {ResultFile.Kind(status.Type)}, not a folder: remove it or choose another Stevedore:Docker:TaskFilesPath");
        }

        var user = Libc.EffectiveUserId();
        if (status.Uid != user)
        {
            throw new IOException($"{path} belongs to user {status.Uid}, not to this host's user {user}: remove it or choose another Stevedore:Docker:TaskFilesPath");
        }

        if ((status.Mode & 0x1FF) != (uint)Private)
        {
            File.SetUnixFileMode(path, Private);
        }
    }

    /// <summary>Unmounts an attempt's folder, which takes everything the job left in it, then removes the empty mount point.</summary>
    private void Release(string path, bool mounted = true)
    {
        try
        {
            if (mounted)
            {
                Libc.Unmount(path);
            }
        }
        catch (IOException ex)
        {
            LogReleaseFailed(_logger, path, ex.Message);
        }

        try
        {
            // Not recursive: once unmounted the folder is empty; if it is not, something else is there and stays.
            Directory.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogReleaseFailed(_logger, path, ex.Message);
        }
    }

    /// <summary>An attempt's folder; <paramref name="extra"/>: bytes beyond its limit, the shim of a spare.</summary>
    private sealed class Folder(BindMountedTaskFiles owner, string path, long limit, long extra) : ISpareFolder
    {
        private long _limit = limit;

        public void Configure(CreateContainerParameters container) =>
            container.HostConfig.Mounts = [new Mount { Type = "bind", Source = path, Target = ContainerRunRequest.FolderPath }];

        public Task BeforeStartAsync(string containerId, CancellationToken cancellationToken) => Task.CompletedTask;

        public void Assign(ReadOnlySpan<byte> payload, string envScript)
        {
            var env = System.Text.Encoding.UTF8.GetBytes(envScript);
            _limit = owner.LimitFor(payload.Length);
            // Room for the env file and the shim too, which the shim deletes before the job runs.
            Libc.RemountTmpfs(path, $"size={_limit + env.Length + extra}");
            WriteReadable(Path.Combine(path, "payload"), payload);
            WriteReadable(Path.Combine(path, Spares.SpareShim.EnvFile), env);
        }

        public bool NotTaken() => File.Exists(Path.Combine(path, Spares.SpareShim.EnvFile));

        public Task<ReadOnlyMemory<byte>?> ReadResultAsync(string containerId, ITaskLogWriter log) =>
            Task.FromResult<ReadOnlyMemory<byte>?>(ResultFile.ReadFromHost(Path.Combine(path, "result"), owner._maxResultBytes, log));

        public long? FullAt() => new DriveInfo(path).AvailableFreeSpace == 0 ? _limit : null;

        public void Dispose() => owner.Release(path);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Task folder {Folder} could not be released: {Reason}")]
    private static partial void LogReleaseFailed(ILogger logger, string folder, string reason);
}
