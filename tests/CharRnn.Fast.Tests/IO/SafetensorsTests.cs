using System.Buffers.Binary;
using System.Text;
using CharRnn.Fast.IO;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string PathOf(string name) => Path.Combine(_dir, name);

    private static SafetensorsTensor T(string name, int[] shape, int seed)
    {
        var rng = new Random(seed);
        long n = shape.Aggregate(1L, (a, d) => a * d);
        return new SafetensorsTensor(name, shape, Enumerable.Range(0, (int)n).Select(_ => (float)rng.NextDouble()).ToArray());
    }

    /// <summary>A file built byte by byte as a minimal writer (numpy, a 20-line script) would: no padding, no metadata.</summary>
    public static byte[] Handmade(string headerJson, params float[][] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        bytes.AddRange(length);
        bytes.AddRange(header);
        foreach (var d in data) foreach (var x in d) bytes.AddRange(BitConverter.GetBytes(x));
        return bytes.ToArray();
    }

    [Fact]
    public void Round_trip_keeps_tensors_metadata_and_alignment()
    {
        var tensors = new[] { T("a", [3, 5], 1), T("b", [7], 2), T("scalar", [], 3), T("empty", [0, 4], 4) };
        var meta = new Dictionary<string, string> { ["quote\"back\\slash"] = "line\nbreak \"q\" 😀 中文", ["vocab"] = "[\"a\",\"\\n\"]" };
        var path = PathOf("m.safetensors");
        SafetensorsWriter.Write(path, tensors, meta);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, (8 + BinaryPrimitives.ReadUInt64LittleEndian(bytes)) % 64);
        var read = SafetensorsReader.Read(path);
        Assert.Equal(meta, read.Metadata);
        foreach (var t in tensors)
        {
            var r = read.Get(t.Name);
            Assert.Equal(t.Shape, r.Shape);
            Assert.Equal(t.Data, r.Data);
        }
        Assert.Equal(read.Tensors.Count, tensors.Length);
    }

    [Fact]
    public void A_handmade_minimal_file_reads()
    {
        var bytes = Handmade("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
            [1f, 2f, 3f, 4f], [5f, 6f]);
        var read = SafetensorsReader.Read(bytes);
        Assert.Equal([1f, 2f, 3f, 4f], read.Get("w").Data);
        Assert.Equal([5f, 6f], read.Get("b").Data);
        Assert.Empty(read.Metadata);
    }

    [Fact]
    public void F64_and_BF16_are_converted()
    {
        var header = "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},\"h\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]}}";
        var hb = Encoding.UTF8.GetBytes(header);
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)hb.Length));
        bytes.AddRange(hb);
        bytes.AddRange(BitConverter.GetBytes(1.5)); bytes.AddRange(BitConverter.GetBytes(-2.25));
        bytes.AddRange(BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(3f) >> 16)));
        var read = SafetensorsReader.Read(bytes.ToArray());
        Assert.Equal([1.5f, -2.25f], read.Get("d").Data);
        Assert.Equal([3f], read.Get("h").Data);
    }

    [Fact]
    public void Invalid_tensors_are_refused_before_the_file_is_touched()
    {
        var path = PathOf("keep.safetensors");
        SafetensorsWriter.Write(path, [T("a", [2], 1)], new Dictionary<string, string>());
        var before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsTensor("bad", [3], new float[2])], new Dictionary<string, string>()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void A_write_that_fails_after_the_temporary_is_written_removes_it_and_leaves_the_target()
    {
        // the rename is the last step: a directory in the target's place makes it fail once the temporary file is complete
        var path = PathOf("taken.safetensors");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "inside"), "old");
        var e = Record.Exception(() => SafetensorsWriter.Write(path, [T("a", [1000], 1)], new Dictionary<string, string>()));
        Assert.True(e is IOException or UnauthorizedAccessException, $"{e?.GetType().Name}: {e?.Message}");
        Assert.Equal("old", File.ReadAllText(Path.Combine(path, "inside")));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir)); // no .taken.safetensors.*.tmp beside it
    }

    public static TheoryData<string, string> Corruptions => new()
    {
        { "", "too short" },
        { "len:0", "header length is 0" },
        { "len:huge", "absurdly large" },
        { "len:beyond", "truncated" },
        { "not json", "not valid UTF-8 JSON" },
        { "[1,2]", "must be a JSON object" },
        { "{\"__metadata__\":{\"k\":1}}", "must be a string" },
        { "{\"__metadata__\":[]}", "object of string values" },
        { "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "dtype" },
        { "{\"w\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]}}", "not supported" },
        { "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "shape" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "non-negative integers" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "non-negative integers" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[100000,100000],\"data_offsets\":[0,4]}}", "too large" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "data_offsets" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "begin ≤ end" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}", "past the end" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "needs 8 bytes" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", "overlap" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "twice" },
        { "{\"w\":7}", "must be an object" },
        // an escaped lone surrogate parses as JSON but is no Unicode text: in a metadata value, a metadata key, a tensor name
        { "{\"__metadata__\":{\"cell\":\"rnn\\ud800\"}}", "a string in 'cell' escapes a lone surrogate" },
        { "{\"__metadata__\":{\"cell\":\"\\udc00\"}}", "a string in 'cell' escapes a lone surrogate" },
        { "{\"__metadata__\":{\"vocab\":\"[\\\"\\ud800\\\"]\"}}", "a string in 'vocab' escapes a lone surrogate" },
        { "{\"__metadata__\":{\"\\udc00\":\"x\"}}", "a name escapes a lone surrogate" },
        { "{\"w\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "a name escapes a lone surrogate" },
        { "{\"\\udc00w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "a name escapes a lone surrogate" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Each_corruption_is_a_clear_format_error(string header, string expected)
    {
        byte[] bytes = header switch
        {
            "" => [1, 2, 3],
            "len:0" => new byte[16],
            "len:huge" => [.. BitConverter.GetBytes(ulong.MaxValue / 2), .. new byte[8]],
            "len:beyond" => [.. BitConverter.GetBytes(1000UL), .. "{}"u8.ToArray()],
            _ => Handmade(header, new float[2]),
        };
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Read(bytes));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Random_corruption_and_every_truncation_give_a_format_error_or_a_valid_read()
    {
        var path = PathOf("v.safetensors");
        SafetensorsWriter.Write(path, [T("a", [4, 3], 1), T("b", [5], 2)], new Dictionary<string, string> { ["vocab"] = "[\"x\"]" });
        var valid = File.ReadAllBytes(path);
        for (int length = 0; length < valid.Length; length++)
            AssertReadsOrFormatError(valid.AsSpan(0, length).ToArray());
        var rng = new Random(7);
        for (int trial = 0; trial < 600; trial++)
        {
            var bytes = (byte[])valid.Clone();
            int flips = rng.Next(1, 4);
            for (int f = 0; f < flips; f++) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            AssertReadsOrFormatError(bytes);
        }
    }

    private static void AssertReadsOrFormatError(byte[] bytes)
    {
        try { SafetensorsReader.Read(bytes); }
        catch (CheckpointFormatException) { }
    }
}
