using System.Text;
using CharRnn.Cli.Commands;
using CharRnn.Fast.Data;
using Xunit;

namespace CharRnn.Cli.Tests;

/// <summary>The token store's streamed lines framing is the CLI's whole-string framing (Inputs.FrameLines), token for token.</summary>
public sealed class LinesFramingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-lines-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Pieces = ["ab", "Z", " ", "\n", "\n\n", "\r\n", "\r", "\t", "é", "世界", "😀", "🇫🇷"];

    [Fact]
    public void The_store_of_a_lines_corpus_holds_the_framing_of_the_whole_text()
    {
        for (int seed = 0; seed < 60; seed++)
        {
            var rng = new Random(seed);
            var sb = new StringBuilder("x");
            for (int n = rng.Next(60); n > 0; n--) sb.Append(Pieces[rng.Next(Pieces.Length)]);
            string text = sb.ToString(), path = Path.Combine(_dir, $"lines{seed}.txt");
            File.WriteAllText(path, text);

            using var prepared = TokenStoreCache.Prepare([path], new CorpusOptions { Lines = true, CacheDirectory = Path.Combine(_dir, ".cache") });
            var tokens = new int[prepared.Store.Length];
            prepared.Store.Read(0, tokens);
            Assert.Equal(Inputs.FrameLines(text), prepared.Store.Vocabulary.Decode(tokens));
        }
    }
}
