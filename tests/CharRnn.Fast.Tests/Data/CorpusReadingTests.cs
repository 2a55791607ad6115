using System.Text;
using CharRnn.Fast.Data;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using Xunit;

namespace CharRnn.Fast.Tests.Data;

/// <summary>Corpora at the edges: a cancelled build, very long file names, classic Mac line ends, huge and foreign vocabularies.</summary>
public sealed class CorpusReadingTests : IDisposable
{
    private readonly TempCorpus _corpus = new();
    public void Dispose() => _corpus.Dispose();

    private static string[] FilesIn(string directory) => Directory.GetFiles(directory).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A_build_cancelled_while_it_writes_stops_and_deletes_its_temporary_file()
    {
        string path = _corpus.Write("c.txt", string.Concat(Enumerable.Repeat("cancel me ", 2000)));
        string target = path + ".charrnn-tokens";
        using var cancel = new CancellationTokenSource();
        string[]? whileWriting = null;
        Stream CancelOnceCreated(Stream file)
        {
            whileWriting = FilesIn(_corpus.Dir);
            cancel.Cancel(); // as Ctrl+C does, between two chunks of the encoding pass
            return file;
        }
        var options = _corpus.Options(chunkBytes: 256) with { Cancellation = cancel.Token };
        Assert.ThrowsAny<OperationCanceledException>(() => TokenStoreCache.PrepareAt([CorpusFiles.Stamp(path)], options, [target], CancelOnceCreated));
        Assert.Contains(whileWriting!, f => f.StartsWith(".c.txt.charrnn-tokens.", StringComparison.Ordinal) && f.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(["c.txt"], FilesIn(_corpus.Dir));

        // cancelled before it starts: nothing is made
        var stopped = _corpus.Options() with { Cancellation = new CancellationToken(canceled: true) };
        Assert.ThrowsAny<OperationCanceledException>(() => TokenStoreCache.Prepare([path], stopped));
        Assert.Equal(["c.txt"], FilesIn(_corpus.Dir));
        Assert.False(Directory.Exists(_corpus.Cache));

        // a store that would be reused: the checks that read it (and, verifying, the inputs) stop too, and leave it
        using (TokenStoreCache.Prepare([path], _corpus.Options())) { }
        Assert.ThrowsAny<OperationCanceledException>(() => TokenStoreCache.Prepare([path], stopped));
        Assert.ThrowsAny<OperationCanceledException>(() => TokenStoreCache.Prepare([path], stopped with { VerifyContent = true }));
        using var reused = TokenStoreCache.Prepare([path], _corpus.Options());
        Assert.True(reused.Reused);
    }

    [Theory]
    [InlineData(226, 1)] // the longest name whose store and temporary file fit as they are
    [InlineData(227, 1)]
    [InlineData(255, 1)]
    [InlineData(85, 3)]  // 255 bytes of three-byte characters
    public void A_file_with_a_name_near_the_longest_allowed_gets_a_store_whose_name_fits(int characters, int bytesEach)
    {
        string name = new(bytesEach == 1 ? 'n' : '語', characters);
        Assert.Equal(characters * bytesEach, Encoding.UTF8.GetByteCount(name));
        string path = _corpus.Write(name, "long name\n");

        using (var prepared = TokenStoreCache.Prepare([path], _corpus.Options()))
        {
            Assert.Equal(_corpus.Dir, Path.GetDirectoryName(prepared.Store.Path)); // beside the corpus, not in the cache
            Assert.True(Encoding.UTF8.GetByteCount(Path.GetFileName(prepared.Store.Path)) <= 255 - 14);
            if (characters * bytesEach <= 226) Assert.Equal(path + ".charrnn-tokens", prepared.Store.Path); // names that fit are kept
            else Assert.Matches(@"-[0-9a-f]{16}\.charrnn-tokens$", prepared.Store.Path);
        }
        using var again = TokenStoreCache.Prepare([path], _corpus.Options());
        Assert.True(again.Reused);

        // the cache's name, and the names of several inputs, are shortened the same way, each kept apart by the key
        var places = TokenStoreCache.Locations([path, path + "-other"], _corpus.Options() with { Lines = true });
        Assert.All(places, p => Assert.True(Encoding.UTF8.GetByteCount(Path.GetFileName(p)) <= 255 - 14, p));
        Assert.All(places, p => Assert.EndsWith(".lines.charrnn-tokens", p));
        Assert.NotEqual(places[0], TokenStoreCache.Locations([path, path + "-another"], _corpus.Options() with { Lines = true })[0]);
    }

    [Theory]
    [InlineData("l1\rl2\rl3\r", "\nl1\nl2\nl3\n")]           // classic Mac OS
    [InlineData("l1\r\nl2\r\nl3", "\nl1\nl2\nl3\n")]          // Windows
    [InlineData("a\rb\nc\r\n\r\nd\n\r", "\na\nb\nc\nd\n")]    // mixed, empty lines skipped
    public void In_lines_mode_a_lone_carriage_return_ends_a_line_as_crlf_and_lf_do(string text, string framed)
    {
        for (int chunk = 1; chunk <= 4; chunk++) // "\r\n" cut between two chunks is still one line end
        {
            using var prepared = TokenStoreCache.Prepare([_corpus.Write(_corpus.NextName(), text)], _corpus.Options(lines: true, chunkBytes: chunk));
            Assert.Equal(framed, prepared.Store.Vocabulary.Decode(TempCorpus.ReadAll(prepared.Store)));
        }
    }

    [Fact]
    public void A_text_with_more_characters_than_a_model_holds_is_refused_before_its_store_is_written()
    {
        var sb = new StringBuilder();
        for (int c = 0x20, n = 0; n <= RnnShape.MaxVocabulary; c++)
            if (Rune.IsValid(c)) { sb.Append(new Rune(c).ToString()); n++; }
        string path = _corpus.Write("wide.txt", sb.ToString());
        var e = Assert.Throws<TextInputException>(() => TokenStoreCache.Prepare([path], _corpus.Options()));
        Assert.Equal($"the text has {RnnShape.MaxVocabulary + 1:N0} distinct characters; a model holds at most {RnnShape.MaxVocabulary:N0}", e.Message);
        Assert.Equal(["wide.txt"], FilesIn(_corpus.Dir));
    }

    [Fact]
    public void Unknown_characters_are_counted_and_the_first_ten_named_in_order_of_appearance()
    {
        string foreign = string.Concat(Enumerable.Range(0, 40).Select(i => (char)('世' + 39 - i))); // descending, so not the vocabulary's order
        string path = _corpus.Write("foreign.txt", "ab" + foreign + foreign + "ba");
        using var prepared = TokenStoreCache.Prepare([path], _corpus.Options());
        var e = Assert.Throws<UnknownCharactersException>(() => VocabularyMappedSource.Map(prepared.Store, prepared.Store.Vocabulary, Vocabulary.FromText("ab")));
        Assert.Equal(foreign.Select(c => c.ToString()), e.Characters);
        Assert.Equal($"40 character(s) are not in the model's vocabulary: {string.Join(" ", foreign[..10].Select(c => $"'{c}'"))} and 30 more", e.Message);

        var few = Assert.Throws<UnknownCharactersException>(() => Vocabulary.FromText("ab").Encode("abxcy"));
        Assert.Equal("3 character(s) are not in the model's vocabulary: 'x' 'c' 'y'", few.Message);
    }
}
