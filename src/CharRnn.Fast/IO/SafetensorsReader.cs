using System.Buffers.Binary;
using System.Text.Json;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.IO;

/// <summary>The tensors and metadata of a safetensors file.</summary>
public sealed class SafetensorsContents(IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
{
    private readonly Dictionary<string, SafetensorsTensor> _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Tensors in file order (by data offset).</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; } = tensors;

    /// <summary>The <c>__metadata__</c> entries (empty if the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    public bool TryGet(string name, out SafetensorsTensor tensor)
    {
        lock (_asked) _asked.Add(name); // readers may share one file's contents across threads
        return _byName.TryGetValue(name, out tensor!);
    }

    /// <summary>The tensor named <paramref name="name"/>; throws <see cref="CheckpointFormatException"/> when it is missing.</summary>
    public SafetensorsTensor Get(string name)
        => TryGet(name, out var t) ? t : throw new CheckpointFormatException($"the file has no tensor '{name}'");

    /// <summary>The file's tensors no <see cref="Get"/> or <see cref="TryGet"/> has asked for, in file order: what a reader did not account for.</summary>
    internal IReadOnlyList<string> NotAskedFor()
    {
        lock (_asked) return Tensors.Select(t => t.Name).Where(name => !_asked.Contains(name)).ToList();
    }
}

/// <summary>
/// Reads safetensors files as untrusted input: every size and offset is checked against the bytes actually present
/// before anything is allocated from it, and every problem is a <see cref="CheckpointFormatException"/> saying what is
/// wrong. F32 is read as is; F64, F16 and BF16 (as numpy and PyTorch may write) and I8 (compact weights) are converted
/// to float, each tensor keeping its file dtype.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>Largest header accepted (the format's own limit is 100 MB).</summary>
    public const int MaxHeaderLength = 100_000_000;

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    public static SafetensorsContents Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"'{path}' does not exist", path);
        if (info.Length > Array.MaxLength) throw new CheckpointFormatException($"the file is {info.Length} bytes: larger than a model file can be (2 GiB)");
        return Read(File.ReadAllBytes(path));
    }

    /// <summary>
    /// Whether the file at <paramref name="path"/> starts as a safetensors file does: an 8-byte little-endian header
    /// length that fits in the file, then '{'. No text starts so (the length's high bytes would be NULs), so this tells a
    /// model file given or found as text from a text by 9 bytes, without parsing it. False when the file cannot be read:
    /// reading it as text then says why.
    /// </summary>
    public static bool HasSafetensorsHeader(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            Span<byte> start = stackalloc byte[9];
            if (RandomAccess.Read(file, start, 0) < start.Length) return false;
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(start);
            return start[8] == (byte)'{' && headerLength >= 2 && headerLength <= (ulong)(RandomAccess.GetLength(file) - 8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Reads a whole safetensors file held in memory.</summary>
    public static SafetensorsContents Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8) throw new CheckpointFormatException($"the file is {file.Length} bytes: too short for a safetensors header (truncated?)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength == 0) throw new CheckpointFormatException("the header length is 0: not a safetensors file");
        if (headerLength > MaxHeaderLength) throw new CheckpointFormatException($"the header length {headerLength} is absurdly large: not a safetensors file, or corrupt");
        if (headerLength > (ulong)(file.Length - 8)) throw new CheckpointFormatException($"the header claims {headerLength} bytes but the file has only {file.Length - 8} after the length (truncated?)");
        var header = file.Slice(8, (int)headerLength);
        var data = file.Slice(8 + (int)headerLength);

        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new CheckpointFormatException("the header is not valid UTF-8");
        JsonDocument doc;
        try { doc = UnicodeJson.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new CheckpointFormatException($"the header is not valid UTF-8 JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException("the header must be a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, string DType, int[] Shape, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw new CheckpointFormatException($"the header names '{property.Name}' twice");
                if (property.Name == "__metadata__") ReadMetadata(property.Value, metadata);
                else entries.Add(ReadEntry(property.Name, property.Value, data.Length));
            }
            entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            for (int i = 1; i < entries.Count; i++)
                if (entries[i].Begin < entries[i - 1].End)
                    throw new CheckpointFormatException($"tensors '{entries[i - 1].Name}' and '{entries[i].Name}' overlap in the data section");
            var tensors = new List<SafetensorsTensor>(entries.Count);
            foreach (var e in entries) tensors.Add(new SafetensorsTensor(e.Name, e.Shape, Decode(e.DType, data[(int)e.Begin..(int)e.End])) { DType = e.DType });
            return new SafetensorsContents(tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException("__metadata__ must be an object of string values");
        foreach (var p in element.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw new CheckpointFormatException($"__metadata__ entry '{p.Name}' must be a string");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!)) throw new CheckpointFormatException($"__metadata__ names '{p.Name}' twice");
        }
    }

    private static (string, string, int[], long, long) ReadEntry(string name, JsonElement e, int dataLength)
    {
        string Where() => $"tensor '{name}'";
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointFormatException($"{Where()}: its entry must be an object with dtype, shape and data_offsets");
        if (!e.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException($"{Where()}: missing or non-string \"dtype\"");
        string dtype = dtypeElement.GetString()!;
        int size = dtype switch
        {
            "F32" => 4,
            "F64" => 8,
            "F16" or "BF16" => 2,
            "I8" => 1,
            _ => throw new CheckpointFormatException($"{Where()}: dtype {dtype} is not supported (use F32; F64, F16, BF16 and I8 are converted)"),
        };
        if (!e.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException($"{Where()}: missing or non-array \"shape\"");
        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw new CheckpointFormatException($"{Where()}: shape entries must be non-negative integers");
            shape[i++] = dim;
            count *= dim;
            if (count > int.MaxValue) throw new CheckpointFormatException($"{Where()}: shape [{string.Join(",", shape[..i])}…] is too large");
        }
        if (!e.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new CheckpointFormatException($"{Where()}: \"data_offsets\" must be [begin, end]");
        var begin = offsets[0];
        var end = offsets[1];
        if (begin.ValueKind != JsonValueKind.Number || end.ValueKind != JsonValueKind.Number || !begin.TryGetInt64(out long b) || !end.TryGetInt64(out long en) || b < 0 || en < b)
            throw new CheckpointFormatException($"{Where()}: data_offsets must be two non-negative integers, begin ≤ end");
        if (en > dataLength) throw new CheckpointFormatException($"{Where()}: data_offsets [{b},{en}] run past the end of the data ({dataLength} bytes; truncated?)");
        if (en - b != count * size)
            throw new CheckpointFormatException($"{Where()}: shape [{string.Join(",", shape)}] of {dtype} needs {count * size} bytes but data_offsets span {en - b}");
        return (name, dtype, shape, b, en);
    }

    private static float[] Decode(string dtype, ReadOnlySpan<byte> bytes)
    {
        switch (dtype)
        {
            case "F32":
            {
                var values = new float[bytes.Length / 4];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * 4));
                return values;
            }
            case "F64":
            {
                var values = new float[bytes.Length / 8];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(i * 8));
                return values;
            }
            case "F16":
            {
                var values = new float[bytes.Length / 2];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(i * 2));
                return values;
            }
            case "I8":
            {
                var values = new float[bytes.Length];
                for (int i = 0; i < values.Length; i++) values[i] = (sbyte)bytes[i];
                return values;
            }
            default: // BF16: the high half of a float
            {
                var values = new float[bytes.Length / 2];
                for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(i * 2)) << 16);
                return values;
            }
        }
    }
}
