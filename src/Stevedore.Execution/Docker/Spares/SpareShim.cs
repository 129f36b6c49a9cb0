using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Stevedore.Execution.Docker.Spares;

/// <summary>
/// What a spare container runs until its task comes: a copy of the host's static busybox, written into the spare's own
/// task folder as <see cref="ShimFile"/> (nothing of the host's is mounted besides that folder), running a few lines of
/// its shell. Before it waits, it finds the job's command on the image's PATH the way the engine does (busybox's own
/// commands are never used in place of the image's) and checks it is something the kernel runs (an ELF binary or a
/// <c>#!</c> script): otherwise it exits, the spare is dropped, and the job's tasks start cold and get the engine's own
/// error. Then it waits for one line, <c>go</c>, on its standard input; reads the task's own variables from
/// <see cref="EnvFile"/>; deletes that file and itself; and replaces itself with the job's command, with the argv[0]
/// the engine would give. The payload follows <c>go</c> on standard input, so the job reads it there as a cold job does.
/// </summary>
public static partial class SpareShim
{
    /// <summary>The shim's file in the task folder: busybox picks what to run by its own name, which must begin "busybox".</summary>
    public const string ShimFile = "busybox-stevedore-shim";
    public const string EnvFile = ".env";
    public const string Go = "go\n";

    /// <summary>Exit code of a spare whose host went away before its task came (standard input closed).</summary>
    public const int NoTask = 125;

    private const string Folder = ContainerRunRequest.FolderPath;

    // Only positional parameters and __stevedore_* variables (never exported) are used: the job's own variables, IFS
    // and PATH included, reach it as the container was given them.
    private static readonly string s_script = string.Join('\n',
        "case $1 in",
        "*/*) __stevedore_p=$1 ;;",
        "*) __stevedore_rest=${PATH-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}: __stevedore_p=",
        "   while [ -n \"$__stevedore_rest\" ]; do",
        "     __stevedore_d=${__stevedore_rest%%:*} __stevedore_rest=${__stevedore_rest#*:}",
        "     if [ -f \"${__stevedore_d:-.}/$1\" ] && [ -x \"${__stevedore_d:-.}/$1\" ]; then __stevedore_p=${__stevedore_d:-.}/$1; break; fi",
        "   done ;;",
        "esac",
        "[ -f \"$__stevedore_p\" ] && [ -x \"$__stevedore_p\" ] && IFS= read -r -n 4 __stevedore_m < \"$__stevedore_p\" || exit 127",
        "case $__stevedore_m in ?ELF|'#!'*) ;; *) exit 126 ;; esac",
        $"IFS= read -r __stevedore_go && [ \"$__stevedore_go\" = go ] || exit {NoTask}",
        $". {Folder}/{EnvFile} || exit {NoTask}",
        $"{Folder}/{ShimFile} rm -f {Folder}/{EnvFile} {Folder}/{ShimFile}",
        "__stevedore_a=$1; shift",
        "exec -a \"$__stevedore_a\" \"$__stevedore_p\" \"$@\"");

    /// <summary>The entrypoint of a spare; its command (Cmd) is the job's own argv.</summary>
    public static IList<string> Entrypoint => [$"{Folder}/{ShimFile}", "sh", "-c", s_script, "stevedore-spare"];

    /// <summary>
    /// The job's argv as the engine would run it: the image's entrypoint, then the job's command or else the image's.
    /// Empty when there is nothing to run (such a job runs cold, and the engine says why).
    /// </summary>
    public static List<string> Argv(IList<string>? imageEntrypoint, IList<string>? imageCmd, IReadOnlyList<string>? jobCommand) =>
        [.. imageEntrypoint ?? [], .. jobCommand is not null ? jobCommand : (IEnumerable<string>?)imageCmd ?? []];

    /// <summary>Whether a task's own variables can be carried by the env file (every name a shell variable name).</summary>
    public static bool CanCarry(IReadOnlyDictionary<string, string> taskEnvironment) =>
        taskEnvironment.All(kv => VariableName().IsMatch(kv.Key)
            && !kv.Key.StartsWith("__stevedore_", StringComparison.Ordinal)
            && !kv.Value.Contains('\0', StringComparison.Ordinal));

    /// <summary>
    /// The variables the shim's own shell changes at its start, with the value the container was created with (the
    /// image's, then the job's): the env file puts them back, so the job sees the environment a cold container gives
    /// it. SHLVL, PWD and OLDPWD the shell exports whether it had them or not: those it had none of are unset (a null
    /// value). IFS, OPTIND and PPID it resets but exports only when it had them: only those are listed.
    /// </summary>
    public static List<KeyValuePair<string, string?>> ShellVariables(IEnumerable<string> containerEnv)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in containerEnv)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                given[entry[..equals]] = entry[(equals + 1)..];
            }
        }

        return
        [
            .. s_exportedByTheShell.Select(name => new KeyValuePair<string, string?>(name, given.GetValueOrDefault(name))),
            .. s_resetByTheShell.Where(given.ContainsKey).Select(name => new KeyValuePair<string, string?>(name, given[name])),
        ];
    }

    private static readonly string[] s_exportedByTheShell = ["SHLVL", "PWD", "OLDPWD"];
    private static readonly string[] s_resetByTheShell = ["IFS", "OPTIND", "PPID"];

    /// <summary>
    /// The env file: one <c>export NAME='value'</c> per variable (<c>unset NAME</c> for a null value), each value
    /// single-quoted (a quote inside written as <c>'\''</c>), so no byte of a value is ever read as shell syntax. Names
    /// must pass <see cref="CanCarry"/>.
    /// </summary>
    public static string EnvScript(IEnumerable<KeyValuePair<string, string?>> variables)
    {
        var script = new StringBuilder();
        foreach (var (name, value) in variables)
        {
            if (!VariableName().IsMatch(name))
            {
                throw new ArgumentException($"'{name}' is not a variable name", nameof(variables));
            }

            if (value is null)
            {
                script.Append("unset ").Append(name).Append('\n');
                continue;
            }

            script.Append("export ").Append(name).Append("='").Append(value.Replace("'", "'\\''", StringComparison.Ordinal)).Append("'\n");
        }

        return script.ToString();
    }

    /// <summary>
    /// Null when <paramref name="path"/> is a statically linked 64-bit ELF executable (one that runs in any image);
    /// otherwise why it cannot be the shim.
    /// </summary>
    public static string? CheckStatic(string path)
    {
        byte[] bytes;
        try
        {
            using var file = File.OpenRead(path);
            bytes = new byte[Math.Min(file.Length, 64 * 1024)];
            file.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{path} cannot be read: {ex.Message}";
        }

        return CheckStatic(bytes, path);
    }

    internal static string? CheckStatic(ReadOnlySpan<byte> elf, string path)
    {
        const int PtInterp = 3;
        if (elf.Length < 64 || !elf[..4].SequenceEqual("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1)
        {
            return $"{path} is not a 64-bit little-endian ELF executable";
        }

        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        if (phentsize < 4 || phoff + ((ulong)phentsize * phnum) > (ulong)elf.Length)
        {
            return $"{path} has no program headers where its ELF header says";
        }

        for (var i = 0; i < phnum; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(elf[(int)(phoff + ((ulong)i * phentsize))..]) == PtInterp)
            {
                return $"{path} is dynamically linked: it would not run in an image without its libraries (install busybox-static)";
            }
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
