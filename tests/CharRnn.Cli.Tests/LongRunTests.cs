using System.Text.Json;
using System.Xml.Linq;
using CharRnn.Fast.IO;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>Managing long runs end to end: validation sample, test split, best checkpoint, patience, the log and its plot, eval streams.</summary>
public sealed class LongRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-long-").FullName;
    private readonly string _text;

    public LongRunTests()
    {
        string[] words = ["the", "cat", "sat", "on", "mat", "dog", "ate", "log", "a", "big", "red", "fox", "jumped", "over", "lazy"];
        var rng = new Random(2);
        _text = Path.Combine(_dir, "words.txt");
        File.WriteAllText(_text, string.Join(' ', Enumerable.Range(0, 12_000).Select(_ => words[rng.Next(words.Length)]))); // 51,995 characters
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);
    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    private static void AssertOk(Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    private static List<JsonElement> Records(string jsonLines)
        => jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static List<JsonElement> Events(List<JsonElement> records, string name) => records.Where(r => r.GetProperty("event").GetString() == name).ToList();

    [Fact]
    public void Validation_reads_a_sample_of_a_tenth_of_the_training_between_passes_and_val_full_reads_the_whole_range()
    {
        // T 10, B 4, K 30: each stream reads ⌈30·10/10⌉ = 30 predictions; the range [⌊0.9N⌋, N−1] has 5,200 characters
        const string run = "--hidden 16 --seq-len 10 --batch 4 --val-frac 0.1 --steps 60 --eval-every 30 --sample-length 0 --json";
        var sampled = Records(Charrnn($"train --input {_text} {run} --checkpoint s.safetensors").Stdout);
        Assert.Equal(4 * 30, Events(sampled, "start")[0].GetProperty("validation_predictions").GetInt64());
        Assert.All(Events(sampled, "validation"), v => Assert.Equal(120, v.GetProperty("predictions").GetInt64()));

        var full = Records(Charrnn($"train --input {_text} {run} --val-full --checkpoint f.safetensors").Stdout);
        long range = Events(full, "start")[0].GetProperty("validation_characters").GetInt64();
        Assert.Equal(4 * ((range - 1) / 4), Events(full, "validation")[0].GetProperty("predictions").GetInt64());
        Assert.Equal([30L, 60], Events(full, "validation").Select(v => v.GetProperty("step").GetInt64()));

        // a run shorter than --eval-every (500 by default) has one pass, after its 20 steps: ⌈20·10/10⌉ = 20 per stream
        var shortRun = Records(Charrnn($"train --input {_text} --hidden 16 --seq-len 10 --batch 4 --val-frac 0.1 --steps 20 --sample-length 0 --json --checkpoint r.safetensors").Stdout);
        Assert.Equal(4 * 20, Events(shortRun, "validation").Single().GetProperty("predictions").GetInt64());

        var help = string.Join(' ', Charrnn("train --help").Stdout.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("the first ⌈K·T/10⌉ characters of each stream, K the smaller of --eval-every and the run's total steps", help);
        Assert.Contains("a tenth of the characters trained between passes", help);
        Assert.Contains("--val-full reads the whole range each time", help);
    }

    [Fact]
    public void A_test_range_is_reported_once_at_the_end_and_a_resume_keeps_it()
    {
        var r = Charrnn($"train --input {_text} --hidden 16 --seq-len 10 --batch 4 --test-frac 0.1 --steps 40 --eval-every 20 --sample-length 0 --json --checkpoint t.safetensors --log t.log");
        AssertOk(r);
        var records = Records(r.Stdout);
        var start = records[0];
        long characters = start.GetProperty("characters").GetInt64(), test = start.GetProperty("test_characters").GetInt64();
        Assert.Equal(characters, start.GetProperty("train_characters").GetInt64() + start.GetProperty("validation_characters").GetInt64() + test);
        Assert.Equal(characters - (long)(characters * 0.9), test);
        var report = Assert.Single(Events(records, "test"));
        Assert.Equal(40, report.GetProperty("step").GetInt64());
        Assert.Equal(4 * ((test - 1) / 4), report.GetProperty("predictions").GetInt64()); // the whole range, B streams
        Assert.Equal("done", records[^1].GetProperty("event").GetString());
        Assert.Equal(report.GetProperty("test_bits_per_char").GetDouble(), records[^1].GetProperty("test_bits_per_char").GetDouble());
        Assert.True(records.IndexOf(report) > records.FindLastIndex(o => o.GetProperty("event").GetString() == "validation"));

        var plain = Charrnn($"train --input {_text} --hidden 16 --seq-len 10 --batch 4 --test-frac 0.1 --steps 40 --eval-every 20 --sample-length 0 --checkpoint p.safetensors");
        Assert.Single(plain.Stderr.Split('\n'), l => l.StartsWith("step 40: test ", StringComparison.Ordinal));
        Assert.Equal(2, Charrnn("train --resume t.safetensors --test-frac 0.2 --steps 50").ExitCode);
        AssertOk(Charrnn("train --resume t.safetensors --test-frac 0.1 --steps 50 --log t.log"));

        // each run's test is a point of its own in the plot, not joined to the other run's
        AssertOk(Charrnn("plot t.log"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var svg = XDocument.Load(PathOf("t.svg"));
        Assert.DoesNotContain(svg.Descendants(ns + "polyline"), p => (string?)p.Attribute("id") == "test");
        Assert.Equal(2, svg.Descendants(ns + "g").Single(g => (string?)g.Attribute("id") == "test-markers").Elements(ns + "circle").Count());
    }

    [Fact]
    public void Keep_best_saves_the_best_validation_beside_the_latest_and_patience_stops_when_it_no_longer_improves()
    {
        // learning rate 1e-30: the weights never change, so the first validation stays the best and every later one ties
        const string still = "--hidden 16 --seq-len 10 --batch 2 --optimizer sgd --lr 1e-30 --steps 1000 --eval-every 10 --sample-length 0 --json";
        var r = Charrnn($"train --input {_text} {still} --keep-best --patience 3 --checkpoint run.safetensors");
        AssertOk(r);
        var records = Records(r.Stdout);
        Assert.Equal([10L, 20, 30, 40], Events(records, "validation").Select(v => v.GetProperty("step").GetInt64()));
        Assert.Equal([true, false, false, false], Events(records, "validation").Select(v => v.GetProperty("best").GetBoolean()));
        var stop = Assert.Single(Events(records, "early_stop"));
        Assert.Equal(40, stop.GetProperty("step").GetInt64());
        Assert.Equal(10, stop.GetProperty("best_step").GetInt64());
        Assert.Equal(40, records[^1].GetProperty("step").GetInt64());
        Assert.Equal([(10L, true), (40L, false)], Events(records, "checkpoint").Select(c => (c.GetProperty("step").GetInt64(), c.GetProperty("best").GetBoolean())));
        Assert.Equal(PathOf("run.best.safetensors"), Path.GetFullPath(Events(records, "checkpoint")[0].GetProperty("path").GetString()!, _dir));
        Assert.Equal(10, Checkpoint.Load(PathOf("run.best.safetensors")).Training!.Step);
        Assert.Equal(40, Checkpoint.Load(PathOf("run.safetensors")).Training!.Step);

        // the count carries over a resume: the next validation without improvement stops at once
        var resumed = Records(Charrnn("train --resume run.safetensors --patience 3 --keep-best --steps 1000 --eval-every 10 --sample-length 0 --json").Stdout);
        Assert.Equal(50, Assert.Single(Events(resumed, "early_stop")).GetProperty("step").GetInt64());
        Assert.Equal(4, Assert.Single(Events(resumed, "early_stop")).GetProperty("passes_since_best").GetInt64());
        Assert.Equal(10, Checkpoint.Load(PathOf("run.best.safetensors")).Training!.Step);
        // and the message counts every pass since the best, not the patience
        var again = Charrnn("train --resume run.safetensors --patience 3 --keep-best --steps 1000 --eval-every 10 --sample-length 0");
        AssertOk(again);
        Assert.Contains("step 60: stopping early, no better validation in 5 pass(es); the best was", again.Stdout + again.Stderr);

        Assert.Equal(2, Charrnn($"train --input {_text} --patience 2 --eval-every 0").ExitCode);
        var empty = Charrnn($"train --input {_text} --keep-best --val-frac 1e-9");
        Assert.Equal(2, empty.ExitCode);
        Assert.Contains("--val-frac 1e-9 leaves no validation text (0 characters): --keep-best needs some", empty.Stderr);
        Assert.Equal(2, Charrnn($"train --input {_text} --keep-best --val-frac 0").ExitCode);
    }

    [Fact]
    public void A_run_cut_between_two_passes_resumes_with_the_best_and_patience_of_a_straight_run()
    {
        // as above, every pass after the first ties with it; the first leg ends at step 25, between two passes
        const string still = "--hidden 16 --seq-len 10 --batch 2 --optimizer sgd --lr 1e-30 --eval-every 10 --sample-length 0 --json";
        var straight = Records(Charrnn($"train --input {_text} {still} --keep-best --patience 3 --steps 1000 --checkpoint s.safetensors").Stdout);
        Assert.Equal(40, Assert.Single(Events(straight, "early_stop")).GetProperty("step").GetInt64());

        var first = Records(Charrnn($"train --input {_text} {still} --keep-best --patience 3 --steps 25 --checkpoint c.safetensors").Stdout);
        var closing = Events(first, "validation")[^1];
        Assert.Equal(25, closing.GetProperty("step").GetInt64());
        Assert.False(closing.TryGetProperty("best", out _)); // reported, not compared

        // the resume keeps --patience from the checkpoint and stops where the straight run did; --keep-best is given again
        var resumed = Charrnn("train --resume c.safetensors --steps 1000 --json");
        Assert.Contains("the checkpoint's run kept its best checkpoint (--keep-best); this one does not unless given --keep-best again", resumed.Stderr);
        var second = Records(resumed.Stdout);
        Assert.Equal(40, Assert.Single(Events(second, "early_stop")).GetProperty("step").GetInt64());
        Assert.Equal(10, Assert.Single(Events(second, "early_stop")).GetProperty("best_step").GetInt64());
        Assert.Equal(10, Checkpoint.Load(PathOf("c.best.safetensors")).Training!.Step);

        // a total the checkpoint has already reached leaves nothing to train: refused, the file untouched
        var before = File.ReadAllBytes(PathOf("c.safetensors"));
        var done = Charrnn("train --resume c.safetensors --steps 40");
        Assert.Equal(2, done.ExitCode);
        Assert.Contains("the checkpoint is at step 40 and --steps 40: the total counts the steps before --resume, so nothing is left to train", done.Stderr);
        Assert.Equal(before, File.ReadAllBytes(PathOf("c.safetensors")));
        var patience = Charrnn("train --resume c.safetensors --eval-every 0");
        Assert.Equal(2, patience.ExitCode); // its --patience needs periodic passes
        Assert.Contains("the checkpoint's run stops with --patience 3, which counts periodic validations", patience.Stderr);

        // a run with no periodic pass before its end compares its closing one: --keep-best keeps it
        AssertOk(Charrnn($"train --input {_text} --hidden 16 --seq-len 10 --batch 2 --keep-best --steps 30 --eval-every 50 --sample-length 0 --checkpoint few.safetensors"));
        Assert.Equal(30, Checkpoint.Load(PathOf("few.best.safetensors")).Training!.Step);
    }

    [Fact]
    public void A_checkpoint_written_at_a_sample_step_holds_the_sampling_rng_after_that_sample()
    {
        // the best checkpoint is written at step 10, which also samples (the weights stand still, so the pass at 20 ties
        // and the best stays at 10); resumed from it, the run goes on as the straight one
        const string flags = "--hidden 16 --seq-len 10 --batch 2 --optimizer sgd --lr 1e-30 --eval-every 10 --sample-every 10 --sample-length 12 --keep-best --json";
        var straight = Records(Charrnn($"train --input {_text} {flags} --steps 20 --checkpoint s.safetensors").Stdout);
        File.Copy(PathOf("s.best.safetensors"), PathOf("at10.safetensors"));
        var resumed = Records(Charrnn("train --resume at10.safetensors --steps 20 --json").Stdout);
        string Samples(List<JsonElement> records, long from) => string.Join("|", Events(records, "sample").Where(o => o.GetProperty("step").GetInt64() >= from).Select(o => o.GetProperty("text").GetString()));
        Assert.Equal(Samples(straight, 11), Samples(resumed, 11));
        var a = SafetensorsReader.Read(PathOf("s.safetensors"));
        var b = SafetensorsReader.Read(PathOf("at10.safetensors"));
        Assert.Equal(a.Metadata["rng_state"], b.Metadata["rng_state"]);
        foreach (var t in a.Tensors) Assert.Equal(t.Data, b.Get(t.Name).Data);
    }

    [Fact]
    public void The_log_holds_the_json_records_of_every_run_appended_and_plot_draws_them()
    {
        const string run = "--hidden 16 --seq-len 10 --batch 2 --eval-every 20 --print-every 10 --checkpoint-every 20 --sample-every 20 --sample-length 20";
        var json = Charrnn($"train --input {_text} {run} --steps 40 --json --log run.log --checkpoint l.safetensors");
        AssertOk(json);
        Assert.Equal(json.Stdout, File.ReadAllText(PathOf("run.log"))); // the same records, line for line
        File.Copy(PathOf("l.safetensors"), PathOf("at40.safetensors"));
        var plain = Charrnn($"train --resume l.safetensors {run} --steps 60 --log run.log");
        AssertOk(plain);
        Assert.DoesNotContain("{", plain.Stderr);
        var log = Records(File.ReadAllText(PathOf("run.log")));
        Assert.Equal([0L, 40], Events(log, "start").Select(s => s.GetProperty("step").GetInt64()));
        Assert.Equal([10L, 20, 30, 40, 50, 60], Events(log, "progress").Select(p => p.GetProperty("step").GetInt64()));
        Assert.All(Events(log, "progress"), p => Assert.True(p.GetProperty("elapsed_s").GetDouble() >= 0 && p.TryGetProperty("lr", out _) && p.TryGetProperty("chars_per_s", out _)));
        Assert.Equal([20L, 40, 60], Events(log, "validation").Select(p => p.GetProperty("step").GetInt64()));
        Assert.Equal(2, Events(log, "done").Count);

        // a torn last line (a crash while writing) is skipped with a warning
        File.AppendAllText(PathOf("run.log"), "{\"event\":\"progr");
        var plot = Charrnn("plot run.log -o loss.svg --json");
        AssertOk(plot);
        Assert.Contains("skipped 1 line(s)", plot.Stderr);
        var svg = XDocument.Load(PathOf("loss.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        int Points(string id) => svg.Descendants(ns + "polyline").Single(p => (string?)p.Attribute("id") == id).Attribute("points")!.Value.Split(' ').Length;
        Assert.Equal(6, Points("train"));
        Assert.Equal(3, Points("validation"));
        var texts = svg.Descendants(ns + "text").ToList();
        Assert.Contains(texts, t => (string?)t.Attribute("class") == "x-label" && t.Value == "step");
        Assert.Contains(texts, t => (string?)t.Attribute("class") == "y-label" && t.Value == "bits per character");
        Assert.True(texts.Count(t => (string?)t.Attribute("class") == "tick") >= 6);
        Assert.Equal(["training (loss of the step)", "validation"], texts.Where(t => (string?)t.Attribute("class") == "legend-label").Select(t => t.Value));
        Assert.Equal(6, Records(plot.Stdout)[0].GetProperty("train_points").GetInt32());
        // the resume is marked where it happened: a dashed vertical line at step 40, labelled
        double XOf(string id, int point) => double.Parse(svg.Descendants(ns + "polyline").Single(p => (string?)p.Attribute("id") == id).Attribute("points")!.Value.Split(' ')[point].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
        var resumes = svg.Descendants(ns + "line").Where(l => (string?)l.Attribute("class") == "resume").ToList();
        Assert.Equal(XOf("train", 3), (double)Assert.Single(resumes).Attribute("x1")!); // the 4th progress point is step 40
        Assert.Contains(texts, t => (string?)t.Attribute("class") == "resume-label" && t.Value == "resumed at 40");

        // a resume from an earlier checkpoint (step 40) replaces what the log held past its step (50, 60)
        AssertOk(Charrnn($"train --resume at40.safetensors {run} --steps 50 --log run.log"));
        AssertOk(Charrnn("plot run.log"));
        svg = XDocument.Load(PathOf("run.svg"));
        Assert.Equal(5, Points("train"));
        Assert.Equal(3, Points("validation"));
        Assert.Single(svg.Descendants(ns + "line"), l => (string?)l.Attribute("class") == "resume"); // one resume at 40 left
        AssertOk(Charrnn("plot run.log -o run.svg")); // an SVG may be replaced; any other file may not
        var model = File.ReadAllBytes(PathOf("at40.safetensors"));
        var refused = Charrnn("plot run.log -o at40.safetensors");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("'at40.safetensors' exists and is not an SVG", refused.Stderr);
        Assert.Equal(model, File.ReadAllBytes(PathOf("at40.safetensors")));

        File.WriteAllText(PathOf("none.log"), "{\"event\":\"start\",\"step\":0}\n");
        Assert.Contains("has no progress or validation records", Charrnn("plot none.log").Stderr);
        Assert.Equal(2, Charrnn("plot").ExitCode);
        Assert.Equal(1, Charrnn("train --log . --steps 1").ExitCode);
        File.WriteAllText(PathOf("notes.txt"), "not a log\n");
        var notLog = Charrnn("train --log notes.txt --steps 1");
        Assert.Equal(1, notLog.ExitCode);
        Assert.Contains("'notes.txt' exists and is not a training log", notLog.Stderr);
        Assert.Equal("not a log\n", File.ReadAllText(PathOf("notes.txt")));
    }

    [Fact]
    public void Eval_reads_b_streams_on_threads_and_one_stream_by_default()
    {
        AssertOk(Charrnn($"train --input {_text} --hidden 32 --seq-len 10 --batch 4 --steps 30 --sample-length 0 --checkpoint m.safetensors"));
        JsonElement Eval(string flags)
        {
            var r = Charrnn($"eval --model m.safetensors --input {_text} --json {flags}");
            AssertOk(r);
            return Records(r.Stdout)[0];
        }
        long n = new FileInfo(_text).Length;
        var one = Eval("");
        Assert.Equal(n - 1, one.GetProperty("predictions").GetInt64());
        Assert.Equal(1, one.GetProperty("streams").GetInt32());
        Assert.Equal(one.GetProperty("nats_per_char").GetDouble(), Eval("--threads 2").GetProperty("nats_per_char").GetDouble());
        var seven = Eval("--streams 7");
        Assert.Equal(7 * ((n - 1) / 7), seven.GetProperty("predictions").GetInt64());
        Assert.Equal(seven.GetProperty("nats_per_char").GetDouble(), Eval("--streams 7 --threads 3").GetProperty("nats_per_char").GetDouble(), 6);
        Assert.Equal(one.GetProperty("nats_per_char").GetDouble(), seven.GetProperty("nats_per_char").GetDouble(), 1); // the same text, 6 more zero starts
        Assert.Contains("evaluation of 9 streams needs at least 10", Charrnn($"eval --model m.safetensors --input {WriteShort()} --streams 9").Stderr);

        // on a terminal the evaluation's progress is a live line on stderr, erased before the result; piped, nothing
        if (RunOnTerminal(_dir, "eval", "--model", "m.safetensors", "--input", _text) is { } terminal)
        {
            Assert.Matches(@"\revaluating: \d+%  [\d.]+[kM]? chars/s  ETA \d+", terminal);
            Assert.Matches(@"\r +\r[\d.]+ nats/char", terminal);
        }
        Assert.DoesNotContain("evaluating", Charrnn($"eval --model m.safetensors --input {_text}").Stderr);
    }

    private string WriteShort()
    {
        File.WriteAllText(PathOf("short.txt"), "the cat");
        return "short.txt";
    }
}
