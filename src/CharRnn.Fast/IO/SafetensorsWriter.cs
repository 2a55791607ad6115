using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace CharRnn.Fast.IO;

/// <summary>
/// Writes the safetensors format: 8-byte little-endian header length N, N bytes of UTF-8 JSON header
/// (<c>{"__metadata__":{…},"name":{"dtype":"F32","shape":[…],"data_offsets":[begin,end]},…}</c>) padded with spaces so
/// the data starts at a multiple of 64 bytes, then the tensors' raw little-endian bytes, contiguous, in order.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes atomically: a temporary file next to the target is written, flushed to disk and renamed over it, so a
    /// crash leaves either the old file or the new one, never a torn one. The target is <paramref name="path"/> or, when
    /// that is a symbolic link, the file the link chain ends at (the link stays in place); see <see cref="ResolveTarget"/>.
    /// </summary>
    public static void Write(string path, IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        var names = new HashSet<string>();
        foreach (var t in tensors)
        {
            if (string.IsNullOrEmpty(t.Name) || t.Name == "__metadata__" || !names.Add(t.Name))
                throw new ArgumentException($"tensor name '{t.Name}' is empty, reserved or repeated");
            BytesPer(t.DType); // a dtype this writer knows
            if (t.Shape.Any(d => d < 0) || t.ElementCount != t.Data.Length)
                throw new ArgumentException($"tensor '{t.Name}' has {t.Data.Length} values but shape [{string.Join(",", t.Shape)}]");
        }
        byte[] header = Header(tensors, metadata);

        string target = ResolveTarget(path);
        string temp = TemporaryPath(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in tensors) WriteValues(stream, t);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    /// <summary>
    /// The full path of the file a write to <paramref name="path"/> replaces: the path itself, or the final target of
    /// the symbolic link chain it names (which need not exist yet). Throws <see cref="IOException"/> when that is
    /// something other than a regular file (a directory, device, FIFO or socket), which a write must never replace.
    /// </summary>
    public static string ResolveTarget(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileInfo(Path.GetFullPath(path));
        string target = file.LinkTarget is null ? file.FullName : file.ResolveLinkTarget(returnFinalTarget: true)!.FullName;
        var kind = FileKinds.Of(target);
        if (kind is not (FileKind.Missing or FileKind.Regular))
            throw new IOException(target == file.FullName
                ? $"'{path}' is {FileKinds.Describe(kind)}, not a regular file"
                : $"'{path}' links to '{target}', which is {FileKinds.Describe(kind)}, not a regular file");
        return target;
    }

    /// <summary>
    /// Checks, before a long job, that <paramref name="path"/> can be written: creates a temporary file next to its
    /// target (see <see cref="ResolveTarget"/>) with <paramref name="bytes"/> bytes allocated (so a disk without room for
    /// the file shows now), then removes it. Throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> with a message that names the folder and the reason.
    /// </summary>
    public static void CheckWritable(string path, long bytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        string target = ResolveTarget(path);
        string folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException(File.Exists(folder) ? $"'{folder}' is a file, not a folder" : $"the folder '{folder}' does not exist");
        string temp = TemporaryPath(target);
        try
        {
            using var probe = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, PreallocationSize = bytes });
        }
        catch (UnauthorizedAccessException) { throw new UnauthorizedAccessException($"no permission to create files in '{folder}'"); }
        catch (IOException e) { throw new IOException($"cannot create a file in '{folder}': {e.Message}", e); }
        finally { DeleteQuietly(temp); }
    }

    private static string TemporaryPath(string target)
        => Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");

    private static void DeleteQuietly(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static byte[] Header(IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType);
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)t.Data.Length * BytesPer(t.DType);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 8 + 63) / 64 * 64 - 8; // data starts 64-byte aligned
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    private static int BytesPer(string dtype) => dtype switch { "F32" => 4, "BF16" => 2, "I8" => 1, _ => throw new ArgumentException($"dtype {dtype} cannot be written (F32, BF16 or I8)") };

    private static void WriteValues(Stream stream, SafetensorsTensor t)
    {
        switch (t.DType)
        {
            case "F32":
                WriteFloats(stream, t.Data);
                return;
            case "BF16":
            {
                var bytes = new byte[t.Data.Length * 2];
                for (int i = 0; i < t.Data.Length; i++)
                {
                    uint bits = BitConverter.SingleToUInt32Bits(t.Data[i]);
                    if ((bits & 0xFFFF) != 0) throw new ArgumentException($"tensor '{t.Name}' holds {t.Data[i]}, which is not a bfloat16 value");
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)(bits >> 16));
                }
                stream.Write(bytes);
                return;
            }
            default: // I8
            {
                var bytes = new byte[t.Data.Length];
                for (int i = 0; i < t.Data.Length; i++)
                {
                    float x = t.Data[i];
                    if (!(x >= -127 && x <= 127) || x != MathF.Round(x)) throw new ArgumentException($"tensor '{t.Name}' holds {x}, which is not an integer in [−127, 127]");
                    bytes[i] = (byte)(sbyte)x;
                }
                stream.Write(bytes);
                return;
            }
        }
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var bytes = new byte[4];
        foreach (float x in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, x);
            stream.Write(bytes);
        }
    }
}
