using System.Formats.Tar;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Stevedore.Execution.Docker.TaskFiles;

/// <summary>Task files copied into and out of the container through the engine API: works with any engine, local or remote.</summary>
public sealed class CopiedTaskFiles(DockerClient client, DockerOptions options) : ITaskFiles
{
    public ITaskFolder Prepare(ContainerRunRequest request) =>
        new Folder(client, request.Payload, options.MaxResultBytes, request.Spec.ReadOnlyRootFilesystem);

    public void RemoveLeftovers(string node)
    {
        // Nothing on the host: the files lived in the container, which is removed with it.
    }

    /// <param name="inVolume">
    /// The root filesystem is read-only: the folder is an anonymous volume of the container (removed with it), writable
    /// by root only, since the engine keeps a volume's own mode whatever the archive says.
    /// </param>
    private sealed class Folder(DockerClient client, ReadOnlyMemory<byte> payload, int maxResultBytes, bool inVolume) : ITaskFolder
    {
        public void Configure(CreateContainerParameters container)
        {
            if (inVolume)
            {
                container.HostConfig.Mounts = [new Mount { Type = "volume", Target = ContainerRunRequest.FolderPath }];
            }
        }

        public async Task BeforeStartAsync(string containerId, CancellationToken cancellationToken)
        {
            using var tar = new MemoryStream();
            var prefix = inVolume ? "" : "stevedore/";
            await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                if (!inVolume)
                {
                    // World-writable, so a job running as any user can write its result file there.
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, prefix)
                    {
                        Mode = (UnixFileMode)0x1FF,
                        ModificationTime = DateTimeOffset.UtcNow,
                    });
                }

                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, prefix + "payload")
                {
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                    DataStream = new MemoryStream(payload.ToArray()),
                });
            }

            tar.Position = 0;
            await client.Containers.ExtractArchiveToContainerAsync(
                containerId, new ContainerPathStatParameters { Path = inVolume ? ContainerRunRequest.FolderPath : "/" }, tar, cancellationToken);
        }

        public async Task<ReadOnlyMemory<byte>?> ReadResultAsync(string containerId, ITaskLogWriter log)
        {
            GetArchiveFromContainerResponse archive;
            try
            {
                archive = await client.Containers.GetArchiveFromContainerAsync(
                    containerId, new GetArchiveFromContainerParameters { Path = ContainerRunRequest.ResultPath }, statOnly: false, CancellationToken.None);
            }
            catch (DockerContainerNotFoundException)
            {
                return null;
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return null;
            }

            // The engine answers with a tar of what is at the path, not following a link, and states its size: take
            // one regular file named "result" that fits, and read no more of the archive than such a file needs.
            await using var tarStream = archive.Stream;
            if (archive.Stat is { } stat && ResultFile.TooLarge(stat.Size, maxResultBytes, log))
            {
                return null;
            }

            // Parsed from memory: reading an entry straight off the engine's response stream fails past its first
            // block ("read past the end of the stream").
            using var whole = new MemoryStream();
            await CopyAtMostAsync(tarStream, whole, maxResultBytes + ArchiveOverhead);
            whole.Position = 0;
            using var reader = new TarReader(whole);
            var entry = await reader.GetNextEntryAsync(copyData: false);
            if (entry is null || entry.Name.TrimEnd('/') != "result")
            {
                return null;
            }

            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null && entry.Length > 0)
            {
                ResultFile.NotRegular(log, Kind(entry.EntryType));
                return null;
            }

            if (ResultFile.TooLarge(entry.Length, maxResultBytes, log))
            {
                return null;
            }

            var bytes = new byte[entry.Length];
            if (entry.DataStream is { } data)
            {
                await data.ReadExactlyAsync(bytes);
            }

            return bytes;
        }

        public long? FullAt() => null;

        /// <summary>Room for the tar headers of one file (a PAX header with long names, the entry's, the end blocks).</summary>
        private const int ArchiveOverhead = 64 * 1024;

        private static async Task CopyAtMostAsync(Stream from, Stream to, int limit)
        {
            var buffer = new byte[81920];
            var total = 0;
            while (total < limit)
            {
                var read = await from.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, limit - total)));
                if (read == 0)
                {
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, read));
                total += read;
            }
        }

        private static string Kind(TarEntryType type) => type switch
        {
            TarEntryType.Directory => "a directory",
            TarEntryType.SymbolicLink => "a symbolic link",
            TarEntryType.HardLink => "a hard link",
            TarEntryType.Fifo => "a FIFO (named pipe)",
            TarEntryType.CharacterDevice => "a character device",
            TarEntryType.BlockDevice => "a block device",
            _ => $"a {type} tar entry",
        };

        public void Dispose()
        {
        }
    }
}
