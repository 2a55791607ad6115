using System.Text;
using CharRnn.Fast.Data;
using FsCheck;
using FsCheck.Fluent;

namespace CharRnn.Fast.Tests.Data;

/// <summary>A temporary folder for corpus files and their stores, deleted on dispose; stores are read back whole.</summary>
internal sealed class TempCorpus : IDisposable
{
    private int _files;

    public string Dir { get; } = Directory.CreateTempSubdirectory("charrnn-data-").FullName;

    /// <summary>The cache directory (hidden, so expanding <see cref="Dir"/> never reads it).</summary>
    public string Cache => Path.Combine(Dir, ".cache");

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    public string Write(string name, string text, bool bom = false) =>
        WriteBytes(name, [.. bom ? new byte[] { 0xEF, 0xBB, 0xBF } : [], .. Encoding.UTF8.GetBytes(text)]);

    public string WriteBytes(string name, byte[] bytes)
    {
        string path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A file name not used before in this folder (property tests write one per case).</summary>
    public string NextName(string extension = ".txt") => $"case{_files++}{extension}";

    public CorpusOptions Options(bool lines = false, bool replaceInvalid = false, int chunkBytes = 1 << 17) =>
        new() { Lines = lines, ReplaceInvalid = replaceInvalid, CacheDirectory = Cache, ChunkBytes = chunkBytes };

    public static int[] ReadAll(ITokenSource source)
    {
        var tokens = new int[source.Length];
        source.Read(0, tokens);
        return tokens;
    }

    /// <summary>An FsCheck property checked on <paramref name="tests"/> generated cases.</summary>
    public static void Property<T>(Gen<T> gen, Action<T> check, int tests = 100) =>
        Prop.ForAll(gen.ToArbitrary(), value => check(value)).Check(Config.QuickThrowOnFailure.WithMaxTest(tests).WithQuietOnSuccess(true));

    private static readonly string[] Pieces =
        ["a", "b", "Z", "q", " ", " ", "\n", "\n", "\r\n", "\r", "\t", "é", "e\u0301", "世界", "😀", "👩‍👩‍👧", "🇫🇷", "\uFEFF", "ß", "\0", "Ω"];

    /// <summary>Text mixing ASCII, line breaks, combining marks, CJK, emoji (surrogate pairs, ZWJ sequences) and a stray U+FEFF.</summary>
    public static string RandomText(int seed, int maxPieces = 40)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (int n = rng.Next(maxPieces + 1); n > 0; n--) sb.Append(Pieces[rng.Next(Pieces.Length)]);
        return sb.ToString();
    }
}
