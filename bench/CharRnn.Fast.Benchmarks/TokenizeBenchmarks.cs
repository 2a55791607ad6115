using System.Text;
using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Data;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// Building a token store from a 32 MiB ASCII-heavy corpus (both passes, hashing, the atomic write): one operation =
/// one MiB of input, so MiB/s = 1 s / the reported mean. The target is ≥ 150 MiB/s on one core.
/// </summary>
[MemoryDiagnoser]
public class Tokenize
{
    private const int MiB = 1 << 20, Size = 32 * MiB;
    private string _dir = null!, _corpus = null!;

    [Params(false, true)]
    public bool Lines { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("charrnn-bench-tokenize-").FullName;
        _corpus = Path.Combine(_dir, "corpus.txt");
        // English-like words over a few dozen symbols, a line break every ~60 characters, now and then a non-ASCII word.
        string[] words = ["the", "of", "and", "a", "to", "in", "is", "was", "that", "for", "it", "with", "as", "his", "on", "be", "at", "by", "I", "café", "naïve", "世界", "Zürich"];
        var rng = new Random(7);
        var sb = new StringBuilder(Size + 64);
        int line = 0;
        while (sb.Length < Size)
        {
            string w = words[rng.Next(words.Length)];
            sb.Append(w);
            line += w.Length + 1;
            if (line > 60) { sb.Append('\n'); line = 0; }
            else sb.Append(rng.Next(12) == 0 ? ", " : " ");
        }
        File.WriteAllText(_corpus, sb.ToString());
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(OperationsPerInvoke = Size / MiB, Description = "prepare token store (per MiB)")]
    public long Prepare()
    {
        using var prepared = TokenStoreCache.Prepare([_corpus], new CorpusOptions { Lines = Lines, Rebuild = true, CacheDirectory = _dir });
        return prepared.Store.Length;
    }
}
