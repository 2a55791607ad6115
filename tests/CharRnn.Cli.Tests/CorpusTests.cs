using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CharRnn.Cli.Commands;
using CharRnn.Fast.IO;
using CharRnn.Fast.Text;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>Training data end to end: several inputs and directories, the token store and its reuse, prepare, standard input, bad input.</summary>
public sealed class CorpusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-corpus-").FullName;
    private const string Quick = "--hidden 16 --seq-len 10 --batch 2 --print-every 10 --sample-length 0";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);
    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static void AssertOk(Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    private static void AssertFails(Result r, params string[] messages)
    {
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        Assert.StartsWith("charrnn: error: ", r.Stderr);
        foreach (var m in messages) Assert.Contains(m, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    private string Write(string name, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf(name))!);
        File.WriteAllText(PathOf(name), text);
        return name;
    }

    private static string Words(int count, int seed)
    {
        string[] words = ["the", "cat", "sat", "on", "mat", "dog", "ate", "log", "a", "big", "red", "fox"];
        var rng = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, count).Select(_ => words[rng.Next(words.Length)])) + "\n";
    }

    private static List<JsonElement> Records(string stdout)
        => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static JsonElement Event(List<JsonElement> records, string name) => records.Single(r => r.GetProperty("event").GetString() == name);

    private static string Sha256Of(byte[] bytes) => TextFingerprint.Prefix + Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public void Inputs_and_directories_are_concatenated_in_the_documented_order()
    {
        Write("books/b.txt", Words(300, 1));
        Write("books/a/z.txt", Words(300, 2));
        Write("books/.hidden", "never read");
        Write("extra.txt", Words(300, 3));
        var r = Charrnn($"train --input books --input extra.txt {Quick} --val-frac 0 --steps 3 --json --checkpoint m.safetensors");
        AssertOk(r);

        // a directory: its files by relative path in ordinal order (a/z.txt before b.txt), then the next input
        var bytes = new[] { "books/a/z.txt", "books/b.txt", "extra.txt" }.SelectMany(f => File.ReadAllBytes(PathOf(f))).ToArray();
        var stored = Checkpoint.Load(PathOf("m.safetensors"));
        Assert.Equal(Sha256Of(bytes), stored.Training!.TextHash);
        Assert.Equal(Encoding.UTF8.GetString(bytes).Length, stored.Training.TextLength);
        Assert.Equal(bytes.Length, Event(Records(r.Stdout), "start").GetProperty("characters").GetInt64()); // ASCII
        Assert.Equal($"[\"{PathOf("books")}\",\"{PathOf("extra.txt")}\"]", stored.Metadata["cli.input"]);
        Assert.StartsWith(PathOf("books."), Event(Records(r.Stdout), "start").GetProperty("store").GetString()); // beside the first input

        // the resumed run reads the same inputs from the checkpoint
        AssertOk(Charrnn("train --resume m.safetensors --steps 5"));

        // every command that reads a corpus states that order in its --help
        foreach (var command in new[] { "train", "eval", "prepare" })
        {
            var help = string.Join(' ', Charrnn($"{command} --help").Stdout.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("a directory stands for the regular files below it, in ordinal (byte) order of their relative paths, skipping hidden entries, symbolic links, *.charrnn-tokens files and model files", help);
            Assert.Contains("several inputs are concatenated in the order given", help);
        }
    }

    [Fact]
    public void A_resume_reuses_the_store_and_still_refuses_a_changed_text()
    {
        Write("c.txt", Words(2000, 4));
        AssertOk(Charrnn($"train --input c.txt {Quick} --steps 10 --checkpoint run.safetensors"));
        string store = PathOf("c.txt.charrnn-tokens");
        var written = File.GetLastWriteTimeUtc(store);
        var inode = new FileInfo(store).Length;

        var resumed = Charrnn("train --resume run.safetensors --steps 20 --json");
        AssertOk(resumed);
        Assert.Equal(store, Event(Records(resumed.Stdout), "start").GetProperty("store").GetString());
        Assert.Equal(written, File.GetLastWriteTimeUtc(store)); // not tokenized again
        Assert.DoesNotContain("rebuilt", resumed.Stdout + resumed.Stderr);

        // the same size, other words: the store is rebuilt (the file changed) and the text refused
        File.WriteAllText(PathOf("c.txt"), Words(2000, 4).Replace("cat", "dog", StringComparison.Ordinal));
        Assert.Equal(inode, new FileInfo(store).Length);
        var refused = Charrnn("train --resume run.safetensors --steps 30");
        AssertFails(refused, "'" + PathOf("c.txt") + "' is not the text 'run.safetensors' was trained on");
        Assert.Equal(20, Checkpoint.Load(PathOf("run.safetensors")).Training!.Step);
    }

    [Fact]
    public void A_checkpoint_saved_inside_the_input_directory_is_no_part_of_the_corpus_a_resume_reads()
    {
        Write("corpus/a.txt", Words(1500, 5));
        AssertOk(Charrnn($"train --input corpus {Quick} --steps 5 --checkpoint corpus/model.safetensors"));
        // a second model file under a name that does not say so: known by its content
        File.Copy(PathOf("corpus/model.safetensors"), PathOf("corpus/b.weights"));

        var resumed = Charrnn("train --resume corpus/model.safetensors --steps 10 --json");
        AssertOk(resumed);
        Assert.DoesNotContain("rebuilt", resumed.Stdout + resumed.Stderr); // the store of the first run's files still holds
        var stored = Checkpoint.Load(PathOf("corpus/model.safetensors")).Training!;
        Assert.Equal(10, stored.Step);
        Assert.Equal(Sha256Of(File.ReadAllBytes(PathOf("corpus/a.txt"))), stored.TextHash);
    }

    [Fact]
    public void A_lines_checkpoints_text_hash_keeps_its_definition_the_framed_texts_utf8()
    {
        string text = "first line\r\n\nsecond 😀 line\nthird";
        Write("l.txt", string.Concat(Enumerable.Repeat(text + "\n", 40)));
        AssertOk(Charrnn($"train --input l.txt --lines {Quick} --steps 2 --checkpoint l.safetensors"));
        string framed = Inputs.FrameLines(File.ReadAllText(PathOf("l.txt")));
        var stored = Checkpoint.Load(PathOf("l.safetensors")).Training!;
        Assert.Equal(TextFingerprint.Of(framed), stored.TextHash); // what checkpoints written before token stores recorded
        Assert.Equal(framed.EnumerateRunes().Count(), stored.TextLength);
    }

    [Fact]
    public void Prepare_builds_the_store_train_uses_it_and_a_damaged_store_is_rebuilt_with_a_warning()
    {
        Write("p.txt", Words(3000, 5));
        var built = Charrnn("prepare --input p.txt --json");
        AssertOk(built);
        var prepared = Event(Records(built.Stdout), "prepared");
        Assert.False(prepared.GetProperty("reused").GetBoolean());
        Assert.Equal(PathOf("p.txt.charrnn-tokens"), prepared.GetProperty("store").GetString());
        Assert.Equal(1, prepared.GetProperty("bytes_per_token").GetInt32());
        Assert.Equal(new FileInfo(PathOf("p.txt")).Length, prepared.GetProperty("characters").GetInt64());
        Assert.Equal(Sha256Of(File.ReadAllBytes(PathOf("p.txt"))), prepared.GetProperty("text_hash").GetString());
        var again = Charrnn("prepare --input p.txt");
        AssertOk(again);
        Assert.Contains("up to date, reused", again.Stdout);

        var trained = Charrnn($"train --input p.txt {Quick} --steps 2 --json --checkpoint p.safetensors");
        AssertOk(trained);
        Assert.DoesNotContain(Records(trained.Stdout), r => r.GetProperty("event").GetString() == "warning");

        // a token changed into another valid one: only the token hash sees it
        var store = File.ReadAllBytes(PathOf("p.txt.charrnn-tokens"));
        store[^2] = store[^2] == 0 ? (byte)1 : (byte)0;
        File.WriteAllBytes(PathOf("p.txt.charrnn-tokens"), store);
        var rebuilt = Charrnn($"train --input p.txt {Quick} --steps 2 --checkpoint p.safetensors");
        AssertOk(rebuilt);
        Assert.Contains("charrnn: warning: rebuilt the token store: token store '" + PathOf("p.txt.charrnn-tokens") + "' is corrupt: its tokens do not match", rebuilt.Stderr);
        AssertOk(Charrnn("prepare --input p.txt --verify"));

        File.WriteAllBytes(PathOf("p.txt.charrnn-tokens"), store[..100]); // truncated
        var truncated = Charrnn("prepare --input p.txt");
        AssertOk(truncated);
        Assert.Contains("truncated", truncated.Stderr);
        Assert.Contains("built in", truncated.Stdout);
    }

    private Result CharrnnWithInput(byte[] stdin, string args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = StartInfo(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        info.RedirectStandardInput = true;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var input = process.StandardInput.BaseStream) input.Write(stdin);
        Assert.True(process.WaitForExit(120_000), $"charrnn {args} did not finish");
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void Standard_input_goes_through_a_temporary_store_that_is_gone_afterwards()
    {
        var temp = Directory.CreateDirectory(PathOf("tmp")).FullName;
        var environment = new Dictionary<string, string> { ["TMPDIR"] = temp };
        var text = Encoding.UTF8.GetBytes(Words(2000, 6));
        var r = CharrnnWithInput(text, $"train --input - {Quick} --steps 3 --json --checkpoint s.safetensors", environment);
        AssertOk(r);
        Assert.Equal(JsonValueKind.Null, Event(Records(r.Stdout), "start").GetProperty("store").ValueKind);
        Assert.Equal(Sha256Of(text), Checkpoint.Load(PathOf("s.safetensors")).Training!.TextHash);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp));

        var invalid = CharrnnWithInput([.. "abc"u8, 0xFF, .. "def"u8], "eval --model s.safetensors --input -", environment);
        AssertFails(invalid, "standard input is not valid UTF-8: byte 0xFF at byte offset 3");
        Assert.DoesNotContain(temp, invalid.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp));
        Assert.Equal(2, Charrnn($"train --input - --input x.txt {Quick}").ExitCode); // standard input stands alone
    }

    [Fact]
    public void Unusable_inputs_are_clear_errors_that_leave_nothing_behind()
    {
        Directory.CreateDirectory(PathOf("empty-dir"));
        AssertFails(Charrnn($"train --input empty-dir {Quick}"), "input directory 'empty-dir' has no text files");
        AssertFails(Charrnn($"train --input nope.txt {Quick}"), "input 'nope.txt' does not exist");
        using (var mkfifo = Process.Start("mkfifo", [PathOf("pipe")])!) mkfifo.WaitForExit();
        AssertFails(Charrnn($"train --input pipe {Quick}"), "input 'pipe' is a FIFO (named pipe), not a regular file");
        Write("ok.txt", Words(500, 7));
        File.WriteAllBytes(PathOf("bad.txt"), [.. "fine"u8, 0xC0, .. "x"u8]);
        AssertFails(Charrnn($"train --input ok.txt --input bad.txt {Quick}"), $"'{PathOf("bad.txt")}' is not valid UTF-8: byte 0xC0 at byte offset 4");
        Assert.Empty(Directory.GetFiles(_dir, "*charrnn-tokens*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
    }

    /// <summary>
    /// A full disk while the store is written (root only: a 512 KiB tmpfs holds the corpus and the cache, so neither
    /// place has room for the store): a clear error, the corpus untouched, no partial store anywhere.
    /// </summary>
    [Fact]
    public void A_full_disk_while_writing_the_store_is_a_clear_error_that_loses_nothing()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") return;
        string small = Directory.CreateDirectory(PathOf("small")).FullName;
        using (var mount = Process.Start("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small])!)
        {
            mount.WaitForExit();
            if (mount.ExitCode != 0) return; // a container that may not mount
        }
        try
        {
            var text = Encoding.UTF8.GetBytes(Words(100_000, 8))[..300_000];
            File.WriteAllBytes(Path.Combine(small, "corpus.txt"), text);
            var r = RunWith(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = Path.Combine(small, "cache") }, _dir, "prepare", "--input", Path.Combine(small, "corpus.txt"));
            AssertFails(r, "cannot write the token store", "no space left on device");
            Assert.Equal(text, File.ReadAllBytes(Path.Combine(small, "corpus.txt")));
            Assert.Equal(["corpus.txt"], Directory.EnumerateFiles(small, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        }
        finally
        {
            using var umount = Process.Start("umount", [small])!;
            umount.WaitForExit();
        }
    }
}
