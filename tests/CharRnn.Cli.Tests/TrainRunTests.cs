using System.Diagnostics;
using System.Text.Json;
using CharRnn.Cli.Commands;
using CharRnn.Fast.IO;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>`charrnn train` end to end: where checkpoints go, what a resume accepts, what is reported, how it stops.</summary>
[Collection(AloneCollection.Name)] // its Ctrl+C tests time two signals within one training step
public sealed class TrainRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-train-").FullName;
    private readonly string _text;
    private const string Small = "--hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --eval-every 20 --print-every 10";

    public TrainRunTests()
    {
        _text = Path.Combine(_dir, "input.txt");
        File.WriteAllText(_text, string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog ate the log. ", 80)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);
    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static void AssertOk(Result r)
        => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    private static void AssertFailedBeforeTraining(Result r, params string[] messages)
    {
        Assert.Equal(1, r.ExitCode);
        foreach (var m in messages) Assert.Contains(m, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("\nstep ", "\n" + r.Stderr); // not one progress line: nothing was trained
    }

    // ---- checkpoint targets (issue 9, items 1 and 3)

    [Fact]
    public void An_unwritable_checkpoint_fails_before_the_first_step()
    {
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint no/such/dir/m.safetensors"),
            "cannot write checkpoint 'no/such/dir/m.safetensors'", $"the folder '{PathOf("no/such/dir")}' does not exist");
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint input.txt/m.safetensors"),
            "cannot write checkpoint 'input.txt/m.safetensors'", "is a file, not a folder");
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root") // root writes into read-only folders
        {
            Directory.CreateDirectory(PathOf("locked"));
            File.SetUnixFileMode(PathOf("locked"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint locked/m.safetensors"),
                "cannot write checkpoint 'locked/m.safetensors'", "no permission");
        }
    }

    [Fact]
    public void A_checkpoint_through_a_symlink_replaces_the_target_and_keeps_the_link()
    {
        Directory.CreateDirectory(PathOf("runs"));
        File.CreateSymbolicLink(PathOf("latest.safetensors"), "runs/first.safetensors");
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint latest.safetensors"));
        Assert.Equal("runs/first.safetensors", new FileInfo(PathOf("latest.safetensors")).LinkTarget);
        Assert.Equal(20, Checkpoint.Load(PathOf("runs/first.safetensors")).Training!.Step);

        AssertOk(Charrnn("train --resume latest.safetensors --steps 30 --checkpoint latest.safetensors"));
        Assert.Equal("runs/first.safetensors", new FileInfo(PathOf("latest.safetensors")).LinkTarget);
        Assert.Equal(30, Checkpoint.Load(PathOf("runs/first.safetensors")).Training!.Step);
        Assert.Equal(["first.safetensors"], Directory.GetFiles(PathOf("runs")).Select(Path.GetFileName));
    }

    [Fact]
    public void A_checkpoint_path_that_is_not_a_regular_file_is_refused()
    {
        Directory.CreateDirectory(PathOf("folder"));
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint folder"),
            "cannot write checkpoint 'folder'", "is a directory, not a regular file");
        Assert.True(Directory.Exists(PathOf("folder")));
        if (!OperatingSystem.IsLinux()) return;

        // as root a private null device (a test must never risk replacing /dev/null), otherwise /dev/null itself
        string device = Environment.UserName == "root" ? PathOf("null") : "/dev/null";
        if (device != "/dev/null")
        {
            using var mknod = Process.Start("mknod", ["-m", "666", device, "c", "1", "3"])!;
            mknod.WaitForExit();
            if (mknod.ExitCode != 0) return; // a container that may not make device nodes
        }
        File.CreateSymbolicLink(PathOf("device-link"), device);
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint device-link"),
            "cannot write checkpoint 'device-link'", $"links to '{device}', which is a character device, not a regular file");
        Assert.NotNull(new FileInfo(PathOf("device-link")).LinkTarget);
        Assert.Equal(0, new FileInfo(device).Length);
    }

    // ---- checkpoint metadata (item 13)

    /// <summary>A checkpoint of a short run, rewritten with one metadata entry changed.</summary>
    private void CheckpointWith(string name, string key, string value)
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 5 --checkpoint {name}"));
        var file = SafetensorsReader.Read(PathOf(name));
        var metadata = file.Metadata.ToDictionary();
        metadata[key] = value;
        SafetensorsWriter.Write(PathOf(name), file.Tensors, metadata);
    }

    [Theory]
    [InlineData("cli.val_frac", "abc")]
    [InlineData("cli.val_frac", "0.9")]
    [InlineData("rng_state", "0123")]
    [InlineData("lr_decay_every", "4294967297")]
    public void A_corrupt_number_in_checkpoint_metadata_is_bad_input_naming_key_and_file(string key, string value)
    {
        CheckpointWith("bad.safetensors", key, value);
        var r = Charrnn("train --resume bad.safetensors --steps 10");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'bad.safetensors'", r.Stderr);
        Assert.Contains($"\"{key}\"", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    // ---- which file a run saves to, and what it says about files already there (item 2)

    private static int FirstProgressLine(string stderr) => stderr.Split('\n').ToList().FindIndex(l => l.StartsWith("step ", StringComparison.Ordinal));

    [Fact]
    public void A_resume_whose_text_has_moved_says_so_and_takes_the_new_place_from_input()
    {
        string before = PathOf("moving.txt"), after = PathOf("moved.txt");
        File.Copy(_text, before, overwrite: true);
        AssertOk(Charrnn($"train --input {before} {Small} --steps 10 --checkpoint moving.safetensors"));
        File.Move(before, after, overwrite: true);

        var r = Charrnn("train --resume moving.safetensors --steps 20");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"the run's input '{before}', as the checkpoint records it, does not exist: if the text has moved, give it with --input", r.Stderr);
        AssertOk(Charrnn($"train --resume moving.safetensors --steps 20 --input {after}"));
        Assert.Equal(20, Checkpoint.Load(PathOf("moving.safetensors")).Training!.Step);
    }

    [Fact]
    public void A_resume_of_several_streams_on_other_threads_warns_that_it_does_not_continue_bit_identically()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 10 --checkpoint threads.safetensors"));
        var other = Charrnn("train --resume threads.safetensors --steps 20 --threads 2");
        AssertOk(other);
        Assert.Contains("warning: --threads 2 differs from the checkpoint's run (1): its 2 streams' gradients then sum in another order", other.Stderr);
        var same = Charrnn("train --resume threads.safetensors --steps 30 --threads 2");
        AssertOk(same);
        Assert.DoesNotContain("differs from the checkpoint", same.Stderr); // the checkpoint now records the run's 2 threads
        var more = Charrnn("train --resume threads.safetensors --steps 40 --threads 4");
        AssertOk(more);
        Assert.DoesNotContain("differs from the checkpoint", more.Stderr); // 2 streams take at most 2 threads either way
    }

    [Fact]
    public void A_resumed_run_saves_back_to_the_file_it_resumed_from()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 10 --checkpoint charrnn.safetensors"));
        var unrelated = File.ReadAllBytes(PathOf("charrnn.safetensors"));
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint man.safetensors"));

        var r = Charrnn("train --resume man.safetensors --steps 30");
        AssertOk(r);
        Assert.DoesNotContain("warning", r.Stderr);
        Assert.Equal(30, Checkpoint.Load(PathOf("man.safetensors")).Training!.Step);
        Assert.Equal(unrelated, File.ReadAllBytes(PathOf("charrnn.safetensors")));
    }

    [Fact]
    public void Replacing_a_model_of_another_run_is_announced_before_step_1()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint other.safetensors"));
        var r = Charrnn($"train --input {_text} {Small} --steps 30 --checkpoint other.safetensors");
        AssertOk(r);
        string warning = "charrnn: warning: 'other.safetensors' holds a checkpoint of another run (step 20); this run will replace it";
        Assert.Contains(warning, r.Stderr);
        Assert.True(r.Stderr.Split('\n').ToList().FindIndex(l => l == warning) < FirstProgressLine(r.Stderr), r.Stderr);

        // the same run's checkpoints are its own to replace: a copy of one, and the file a run resumed from
        File.Copy(PathOf("other.safetensors"), PathOf("copy.safetensors"));
        var resumed = Charrnn("train --resume other.safetensors --steps 40 --checkpoint copy.safetensors");
        AssertOk(resumed);
        Assert.DoesNotContain("warning", resumed.Stderr);
        Assert.Equal(40, Checkpoint.Load(PathOf("copy.safetensors")).Training!.Step);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_not_replaced()
    {
        var text = File.ReadAllBytes(_text);
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 30 --checkpoint input.txt"), "'input.txt' exists and is not a model file");
        Assert.Equal(text, File.ReadAllBytes(_text));
    }

    [Fact]
    public void After_a_non_finite_loss_the_message_names_the_checkpoint_this_run_wrote()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 10 --checkpoint keep.safetensors"));
        var before = File.ReadAllBytes(PathOf("keep.safetensors"));
        const string diverging = "--hidden 24 --seq-len 10 --batch 2 --optimizer sgd --lr 1e30 --clip 0 --init normal:1 --steps 200";

        var none = Charrnn($"train --input {_text} {diverging} --checkpoint keep.safetensors");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("Training stopped; this run wrote no checkpoint", none.Stderr);
        Assert.DoesNotContain("last good checkpoint", none.Stderr);
        Assert.Equal(before, File.ReadAllBytes(PathOf("keep.safetensors")));

        var some = Charrnn($"train --input {_text} {diverging} --checkpoint-every 1 --checkpoint keep.safetensors");
        Assert.Equal(1, some.ExitCode);
        Assert.Contains("Training stopped; the last checkpoint this run wrote is 'keep.safetensors' (step 1)", some.Stderr);
        Assert.Equal(1, Checkpoint.Load(PathOf("keep.safetensors")).Training!.Step);
    }

    // ---- resuming: the same text, and flags repeated with the checkpoint's values (item 4)

    [Fact]
    public void Resuming_on_another_text_with_the_same_characters_is_refused_naming_both()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint run.safetensors"));
        var stored = Checkpoint.Load(PathOf("run.safetensors")).Training!;
        string original = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(_text)));
        Assert.Equal(original, stored.TextHash); // what sha256sum prints for the file
        Assert.Equal(File.ReadAllText(_text).Length, stored.TextLength);

        File.WriteAllText(PathOf("shuffled.txt"), new string(File.ReadAllText(_text).Reverse().ToArray()));
        string shuffled = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(PathOf("shuffled.txt"))));
        var r = Charrnn("train --resume run.safetensors --input shuffled.txt --steps 30");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"'shuffled.txt' is not the text 'run.safetensors' was trained on: it has 3,600 characters ({shuffled}), the checkpoint's text had 3,600 ({original})", r.Stderr);
        Assert.Equal(20, Checkpoint.Load(PathOf("run.safetensors")).Training!.Step);
    }

    [Fact]
    public void Flags_repeated_with_the_checkpoints_values_are_accepted_and_other_values_refused()
    {
        AssertOk(Charrnn($"train --input {_text} --hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --lr 0.002 --seed 7 --steps 20 --checkpoint run.safetensors"));
        // the same values, some spelt differently: compared as values, not strings
        AssertOk(Charrnn("train --resume run.safetensors --hidden 24 --seq-len 10 --batch 2 --val-frac 0.10 --lr 2e-3 --optimizer ADAM " +
                         "--seed 7 --init normal:1e-2 --init-bias zero --clip 5 --clip-norm 0 --beta1 0.9 --steps 30"));
        Assert.Equal(30, Checkpoint.Load(PathOf("run.safetensors")).Training!.Step);

        var r = Charrnn("train --resume run.safetensors --batch 3 --steps 40");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--batch 3 differs from the checkpoint's 2", r.Stderr);
        Assert.Contains("--lr 0.01 differs from the checkpoint's 0.002", Charrnn("train --resume run.safetensors --lr 0.01 --steps 40").Stderr);
        Assert.Contains("--hidden 25 differs from the checkpoint's 24", Charrnn("train --resume run.safetensors --hidden 25 --steps 40").Stderr);
    }

    // ---- what the header counts (item 8)

    [Fact]
    public void The_header_counts_characters_not_utf16_units()
    {
        File.WriteAllText(PathOf("emoji.txt"), string.Concat(Enumerable.Repeat("😀a", 10_000))); // 20,000 characters, 30,000 UTF-16 units
        var r = Charrnn("train --input emoji.txt --hidden 8 --seq-len 10 --batch 2 --val-frac 0.05 --steps 1 --checkpoint e.safetensors");
        AssertOk(r);
        Assert.Contains("charrnn train: 20,000 characters (19,000 train, 1,000 validation), vocabulary 2,", r.Stderr);
    }

    // ---- standard input and sample length 0 (item 16)

    private Result CharrnnWithInput(string stdin, string args)
    {
        var info = StartInfo(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        info.RedirectStandardInput = true;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var input = new StreamWriter(process.StandardInput.BaseStream, new System.Text.UTF8Encoding(false))) input.Write(stdin);
        Assert.True(process.WaitForExit(120_000), $"charrnn {args} did not finish");
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void Train_and_eval_read_standard_input_given_as_dash()
    {
        string text = File.ReadAllText(_text);
        AssertOk(CharrnnWithInput(text, $"train --input - {Small} --steps 20 --checkpoint stdin.safetensors"));
        var stored = Checkpoint.Load(PathOf("stdin.safetensors"));
        Assert.Equal("(stdin)", stored.Metadata["cli.input"]);
        Assert.Equal(text.Length, stored.Training!.TextLength);

        var again = Charrnn("train --resume stdin.safetensors --steps 30");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("the run read its text from standard input: give it again with --input -", again.Stderr);
        AssertOk(CharrnnWithInput(text, "train --resume stdin.safetensors --input - --steps 30"));
        Assert.Equal(30, Checkpoint.Load(PathOf("stdin.safetensors")).Training!.Step);
        Assert.Contains("is not the text", CharrnnWithInput(text + "the cat", "train --resume stdin.safetensors --input - --steps 40").Stderr);

        var eval = CharrnnWithInput(text, "eval --model stdin.safetensors --input - --json");
        AssertOk(eval);
        using var doc = JsonDocument.Parse(eval.Stdout);
        Assert.Equal("result", doc.RootElement.GetProperty("event").GetString());
        Assert.Equal(text.Length - 1, doc.RootElement.GetProperty("predictions").GetInt64());
        Assert.Contains("standard input is empty", CharrnnWithInput("", "eval --model stdin.safetensors --input -").Stderr);
    }

    [Fact]
    public void Sample_length_0_turns_the_final_and_periodic_samples_off()
    {
        var r = Charrnn($"train --input {_text} {Small} --steps 20 --sample-every 10 --sample-length 0 --checkpoint quiet.safetensors");
        AssertOk(r);
        Assert.Equal("", r.Stdout);
        Assert.DoesNotContain("sample", r.Stderr);
    }

    // ---- JSON records (item 10), throughput and ETA (item 9)

    private static List<JsonElement> Records(string stdout)
        => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private static List<JsonElement> Events(List<JsonElement> records, string name)
        => records.Where(r => r.GetProperty("event").GetString() == name).ToList();

    /// <summary>A text of random words, so a model has something to learn and validation something to measure.</summary>
    private string Words(string name, int count)
    {
        string[] words = ["the", "cat", "sat", "on", "mat", "dog", "ate", "log", "a", "big", "red", "fox", "jumped", "over", "lazy"];
        var rng = new Random(1);
        File.WriteAllText(PathOf(name), string.Join(' ', Enumerable.Range(0, count).Select(_ => words[rng.Next(words.Length)])));
        return name;
    }

    [Fact]
    public void By_default_a_run_saves_every_1000_steps_so_a_crash_loses_at_most_that()
    {
        var r = Charrnn($"train --input {_text} --hidden 4 --seq-len 2 --batch 1 --steps 2001 --eval-every 0 --print-every 1000 --sample-length 0 --json --checkpoint d.safetensors");
        AssertOk(r);
        Assert.Equal([1000L, 2000, 2001], Events(Records(r.Stdout), "checkpoint").Select(o => o.GetProperty("step").GetInt64()));
    }

    [Fact]
    public void Every_json_line_has_an_event_and_every_plain_message_has_its_record()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 5 --checkpoint j.safetensors")); // another run's file: a warning
        const string schedule = "--hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --steps 40 --print-every 10 --eval-every 20 --checkpoint-every 20 --sample-every 20 --sample-length 30";
        var r = Charrnn($"train --input {_text} {schedule} --json --checkpoint j.safetensors");
        AssertOk(r);
        var records = Records(r.Stdout);
        Assert.All(records, o => Assert.False(string.IsNullOrEmpty(o.GetProperty("event").GetString())));
        Assert.Equal("start", records[0].GetProperty("event").GetString());
        Assert.Equal("done", records[^1].GetProperty("event").GetString());

        var start = records[0];
        Assert.Equal(3600, start.GetProperty("characters").GetInt64());
        Assert.Equal(3600, start.GetProperty("train_characters").GetInt64() + start.GetProperty("validation_characters").GetInt64());
        Assert.Equal("j.safetensors", start.GetProperty("checkpoint").GetString());
        Assert.Contains("holds a checkpoint of another run", Assert.Single(Events(records, "warning")).GetProperty("message").GetString());
        Assert.Equal([10L, 20, 30, 40], Events(records, "progress").Select(o => o.GetProperty("step").GetInt64()));
        Assert.All(Events(records, "progress"), o => Assert.True(o.GetProperty("eta_s").GetDouble() >= 0));
        Assert.Equal([20L, 40], Events(records, "validation").Select(o => o.GetProperty("step").GetInt64()));
        Assert.Equal([20L, 40], Events(records, "checkpoint").Select(o => o.GetProperty("step").GetInt64()));
        var samples = Events(records, "sample");
        Assert.Equal([(20L, false), (40L, false), (40L, true)], samples.Select(o => (o.GetProperty("step").GetInt64(), o.GetProperty("final").GetBoolean())));
        Assert.All(samples, o => Assert.False(string.IsNullOrEmpty(o.GetProperty("text").GetString())));

        // the plain form of the same run says the same things
        var plain = Charrnn($"train --input {_text} {schedule} --checkpoint j.safetensors");
        AssertOk(plain);
        Assert.Single(plain.Stderr.Split('\n'), l => l.StartsWith("charrnn: warning:", StringComparison.Ordinal));
        Assert.Equal(2, plain.Stderr.Split('\n').Count(l => l.Contains(": validation ", StringComparison.Ordinal)));
        Assert.Contains("step 20: checkpoint saved to j.safetensors", plain.Stderr);
        Assert.Contains("saved j.safetensors", plain.Stderr.Split('\n').Single(l => l.StartsWith("done:", StringComparison.Ordinal)));
        Assert.Equal(2, plain.Stderr.Split('\n').Count(l => l.StartsWith("--- sample at step", StringComparison.Ordinal)));
        Assert.Equal(samples[^1].GetProperty("text").GetString() + "\n", plain.Stdout);
    }

    [Fact]
    public void Chars_per_second_leaves_out_validation_and_the_eta_counts_the_passes_to_come()
    {
        // validation (the whole of half of 20,000 words) outweighs the training between reports (10 steps of 20 characters)
        string text = Words("words.txt", 20_000);
        var r = Charrnn($"train --input {text} --hidden 64 --seq-len 10 --batch 2 --val-frac 0.5 --val-full --steps 40 --eval-every 10 --print-every 10 --sample-length 0 --json --checkpoint w.safetensors");
        AssertOk(r);
        var records = Records(r.Stdout);
        double firstPass = Events(records, "validation").First(o => o.GetProperty("step").GetInt64() == 10).GetProperty("seconds").GetDouble();
        var after = Events(records, "progress").First(o => o.GetProperty("step").GetInt64() == 20); // its window holds that pass

        // training chars/s: the 200 characters of steps 11..20 took less time than the validation pass between them
        Assert.True(after.GetProperty("chars_per_s").GetDouble() > 200 / firstPass, $"{after} vs a pass of {firstPass} s");
        // the passes at steps 20 and 30 and the closing one are still to come, each priced at the measured one
        Assert.True(after.GetProperty("eta_s").GetDouble() >= 3 * firstPass, $"{after} vs a pass of {firstPass} s");
    }

    // ---- Ctrl+C (item 5)

    [Fact]
    public async Task Ctrl_c_during_validation_stops_it_saves_the_step_and_exits_130()
    {
        // one validation pass over 150,000 characters at H = 512 takes seconds; the steps between take milliseconds
        string text = Words("long.txt", 60_000);
        var info = StartInfo(_dir, $"train --input {text} --hidden 512 --seq-len 10 --batch 2 --val-frac 0.5 --val-full --eval-every 1 --print-every 1 --steps 100000 --json --checkpoint v.safetensors".Split(' '));
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        string? line;
        do { line = process.StandardOutput.ReadLine(); if (line is not null) lines.Add(line); }
        while (line is not null && !line.Contains("\"step\":1,", StringComparison.Ordinal)); // step 1's progress: its validation runs now
        Assert.NotNull(line);
        Interrupt(process);
        lines.AddRange(process.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(process.WaitForExit(60_000));

        Assert.Equal(130, process.ExitCode);
        var records = Records(string.Join('\n', lines));
        Assert.Empty(Events(records, "validation")); // the pass was cut short, not finished
        Assert.Contains("press Ctrl+C again to quit without saving", Assert.Single(Events(records, "stopping")).GetProperty("message").GetString());
        Assert.Equal(1, Assert.Single(Events(records, "checkpoint")).GetProperty("step").GetInt64());
        var interrupted = Assert.Single(Events(records, "interrupted"));
        Assert.True(interrupted.GetProperty("saved").GetBoolean());
        Assert.Equal(1, Checkpoint.Load(PathOf("v.safetensors")).Training!.Step);
        Assert.DoesNotContain("   at ", await stderr);

        // the resumed run first runs the pass that was cut short, as a straight run did at that step
        var resumed = Charrnn("train --resume v.safetensors --steps 2 --val-full --sample-length 0 --json");
        AssertOk(resumed);
        Assert.Equal([1L, 2], Events(Records(resumed.Stdout), "validation").Select(v => v.GetProperty("step").GetInt64()));
    }

    [Fact]
    public async Task A_hang_up_of_its_terminal_saves_the_step_and_ends_the_run()
    {
        // checkpoints only at the end or on a stop: the file appears only if the hang-up stops the run and it saves,
        // although nothing can be written to the terminal any more
        var info = OnTerminal(_dir, $"train --input {_text} --hidden 16 --steps 100000000 --checkpoint-every 0 --eval-every 0 --print-every 1 --checkpoint h.safetensors".Split(' '));
        Assert.NotNull(info); // util-linux's script(1), part of every Debian
        using var terminal = Process.Start(info)!;
        var shown = new System.Text.StringBuilder();
        var reading = Task.Run(() =>
        {
            var buffer = new char[4096];
            for (int n; (n = terminal.StandardOutput.Read(buffer)) > 0;)
                lock (shown) shown.Append(buffer, 0, n);
        });
        var clock = Stopwatch.StartNew();
        while (!Shown().Contains("step 20/", StringComparison.Ordinal))
        {
            Assert.False(terminal.HasExited, $"script(1) ended before training was under way:\n{Shown()}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"no progress on the terminal in 60 s:\n{Shown()}");
            Thread.Sleep(5);
        }
        terminal.Kill(); // script(1) alone, with SIGKILL: its end closes the terminal, and the kernel hangs up the session
        await reading.WaitAsync(TimeSpan.FromSeconds(60));
        var ending = Stopwatch.StartNew();

        // the run saves, then ends (its process, the one working in this folder, goes away)
        try
        {
            while (ToolRunsIn(_dir))
            {
                Assert.True(ending.Elapsed < TimeSpan.FromSeconds(60), "charrnn still runs 60 s after the hang-up");
                Thread.Sleep(20);
            }
            Assert.True(File.Exists(PathOf("h.safetensors")), "charrnn ended after the hang-up without saving");
            Assert.True(Checkpoint.Load(PathOf("h.safetensors")).Training!.Step >= 20);
        }
        finally
        {
            StopToolIn(_dir); // a run the hang-up did not end would train on for hours
        }

        string Shown() { lock (shown) return shown.ToString(); }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    // Whether a charrnn process has its working directory in dir.
    private static bool ToolRunsIn(string dir) => ToolsIn(dir).Count > 0;

    private static void StopToolIn(string dir)
    {
        foreach (int pid in ToolsIn(dir))
        {
            try { Process.GetProcessById(pid).Kill(); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { } // ended meanwhile
        }
    }

    // The ids of the charrnn processes whose working directory is dir.
    private static List<int> ToolsIn(string dir)
    {
        var ids = new List<int>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid)) continue;
            try
            {
                if (new DirectoryInfo(Path.Combine(proc, "cwd")).LinkTarget == dir && File.ReadAllText(Path.Combine(proc, "cmdline")).Contains("charrnn.dll", StringComparison.Ordinal))
                    ids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // gone meanwhile, or not ours to read
        }
        return ids;
    }

    [Fact]
    public void Ctrl_c_during_the_closing_validation_is_finished_by_a_resume_to_the_same_total()
    {
        // one step, then the closing pass over 150,000 characters at H = 512 (seconds), cut short
        string text = Words("long.txt", 60_000);
        // step 1's progress: the closing pass runs now
        using var process = StartUntil($"train --input {text} --hidden 512 --seq-len 10 --batch 2 --val-frac 0.5 --val-full --steps 1 --print-every 1 --sample-length 0 --json --checkpoint c.safetensors", "\"event\":\"progress\"");
        Assert.Empty(Events(InterruptedRecords(process), "validation"));

        // the same total is not "nothing to train" here: the resume runs the closing pass and ends the run
        var finished = Charrnn("train --resume c.safetensors --steps 1 --sample-length 0 --json"); // --val-full is kept
        AssertOk(finished);
        var records = Records(finished.Stdout);
        Assert.Equal(1, Assert.Single(Events(records, "validation")).GetProperty("step").GetInt64());
        Assert.Equal("done", records[^1].GetProperty("event").GetString());
        Assert.Equal(2, Charrnn("train --resume c.safetensors --steps 1").ExitCode); // finished: nothing left
    }

    [Fact]
    public void Ctrl_c_during_the_closing_test_is_finished_by_a_resume_that_does_not_validate_again()
    {
        // a short validation range, then the test over 150,000 characters at H = 512 (seconds), cut short
        string text = Words("long.txt", 60_000);
        // the closing pass is done: the test runs now
        using var process = StartUntil($"train --input {text} --hidden 512 --seq-len 10 --batch 2 --val-frac 0.001 --test-frac 0.5 --steps 1 --eval-every 1 --sample-length 0 --json --checkpoint t.safetensors", "\"event\":\"validation\"");
        Assert.Empty(Events(InterruptedRecords(process), "test"));

        var finished = Records(Charrnn("train --resume t.safetensors --steps 1 --sample-length 0 --json").Stdout);
        Assert.Empty(Events(finished, "validation")); // it ran before the Ctrl+C
        Assert.Equal(1, Assert.Single(Events(finished, "test")).GetProperty("step").GetInt64());
        Assert.False(SafetensorsReader.Read(PathOf("t.safetensors")).Metadata.ContainsKey("cli.validation_due"));
    }

    [Fact]
    public void Ctrl_c_after_an_early_stop_is_finished_by_a_resume_that_trains_no_further()
    {
        // learning rate 1e-30: step 2's validation ties with step 1's, and --patience 1 stops there; then the test pass
        // over 150,000 characters at H = 512 (seconds), cut short
        string text = Words("long.txt", 60_000);
        using var process = StartUntil($"train --input {text} --hidden 512 --seq-len 10 --batch 2 --val-frac 0.001 --test-frac 0.5 --steps 100 --eval-every 1 --patience 1 --optimizer sgd --lr 1e-30 --checkpoint-every 1 --sample-length 0 --json --checkpoint e.safetensors", "\"event\":\"early_stop\"");
        Assert.Empty(Events(InterruptedRecords(process), "test"));
        Assert.Equal("1", SafetensorsReader.Read(PathOf("e.safetensors")).Metadata["cli.closing_due"]);

        // a straight run ends at step 2: so does the resume, which only runs the test
        var finished = Records(Charrnn("train --resume e.safetensors --steps 100 --sample-length 0 --json").Stdout);
        Assert.Empty(Events(finished, "progress"));
        Assert.Equal(2, Assert.Single(Events(finished, "test")).GetProperty("step").GetInt64());
        Assert.Equal("done", finished[^1].GetProperty("event").GetString());
    }

    // charrnn ARGS (JSON records on stdout), returned once it has written a record that contains marker.
    private Process StartUntil(string args, string marker)
    {
        var process = Process.Start(StartInfo(_dir, args.Split(' ')))!;
        _ = process.StandardError.ReadToEndAsync();
        string? line;
        do line = process.StandardOutput.ReadLine(); while (line is not null && !line.Contains(marker, StringComparison.Ordinal));
        Assert.NotNull(line);
        return process;
    }

    // Ctrl+C to a StartUntil run: the records it writes after, once it has ended with 130.
    private static List<JsonElement> InterruptedRecords(Process process)
    {
        Interrupt(process);
        var rest = Records(process.StandardOutput.ReadToEnd());
        Assert.True(process.WaitForExit(60_000));
        Assert.Equal(130, process.ExitCode);
        return rest;
    }

    // A run of long steps (16 streams × 2,000 characters at H = 768, about a second each on a 2.3 GHz Xeon; longer with
    // a longer seqLen), returned once step 1 is reported: a signal sent now lands in step 2. Its stdout is drained; the
    // test reads stderr.
    private Process StartLongSteps(string checkpoint, string schedule = "--val-frac 0 --steps 1000", int seqLen = 2000)
    {
        string text = Words("long.txt", 20_000);
        var process = Process.Start(StartInfo(_dir, $"train --input {text} --hidden 768 --seq-len {seqLen} --batch 16 {schedule} --print-every 1 --checkpoint {checkpoint}".Split(' ')))!;
        _ = process.StandardOutput.ReadToEndAsync();
        string? line;
        do line = process.StandardError.ReadLine(); while (line is not null && !line.StartsWith("step 1/", StringComparison.Ordinal));
        Assert.NotNull(line);
        return process;
    }

    [Fact]
    public void Ctrl_c_during_the_last_step_leaves_the_closing_steps_to_a_resume_to_the_same_total()
    {
        // step 2 is the last: the loop ends with every step trained, but stopped before its closing steps began
        using var process = StartLongSteps("last.safetensors", "--val-frac 0.1 --steps 2 --sample-length 0");
        Interrupt(process);
        AssertStoppedAndSaved(process, "last.safetensors");
        Assert.Equal("1", SafetensorsReader.Read(PathOf("last.safetensors")).Metadata["cli.closing_due"]);

        var finished = Charrnn("train --resume last.safetensors --steps 2 --sample-length 0 --json");
        AssertOk(finished);
        var records = Records(finished.Stdout);
        Assert.Empty(Events(records, "progress")); // no step is trained again
        Assert.Equal(2, Assert.Single(Events(records, "validation")).GetProperty("step").GetInt64());
        Assert.Equal("done", records[^1].GetProperty("event").GetString());
    }

    [Fact]
    public void A_signal_delivered_twice_at_once_is_one_request_and_the_step_is_saved()
    {
        // GNU timeout signals the process and then its process group: two SIGINTs microseconds apart
        using var process = StartLongSteps("twice.safetensors");
        Interrupt(process);
        Interrupt(process);
        AssertStoppedAndSaved(process, "twice.safetensors");
    }

    [Fact]
    public void A_sigterm_after_a_hang_up_still_saves()
    {
        // both signals arrive within step 2, the second later than a signal delivered twice at once: a second Ctrl+C
        // then would quit without saving, but nobody presses one on a terminal that hung up
        using var process = StartLongSteps("hup.safetensors");
        Assert.Equal(0, Kill(process.Id, 1)); // SIGHUP
        Thread.Sleep(StopRequest.Grace * 2);
        Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM
        AssertStoppedAndSaved(process, "hup.safetensors");
    }

    [Theory]
    [InlineData(0)] // the save the first Ctrl+C asked for
    [InlineData(1)] // a periodic save of the step the run stops at: the same save
    public void A_second_ctrl_c_while_the_step_is_saved_lets_the_save_finish_and_reports_it_once(int checkpointEvery)
    {
        // the second press, a person's pause after the first, lands while step 2 is written: charrnn is frozen (SIGSTOP)
        // once the checkpoint's temporary file appears, and the signal is sent before it goes on
        using var process = StartLongSteps("during.safetensors", $"--val-frac 0 --steps 1000 --checkpoint-every {checkpointEvery}");
        string? line;
        if (checkpointEvery == 1) // step 1's save is over: the next one is step 2's
            do line = process.StandardError.ReadLine(); while (line is not null && !line.StartsWith("step 1: checkpoint saved", StringComparison.Ordinal));
        Interrupt(process);
        var sinceFirst = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        while (Directory.GetFiles(_dir, "*.tmp").Length == 0)
        {
            Assert.False(process.HasExited, "charrnn ended before it began to save");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no checkpoint was begun in 60 s");
        }
        Assert.Equal(0, Kill(process.Id, SigStop));
        try
        {
            Assert.NotEmpty(Directory.GetFiles(_dir, "*.tmp")); // still under way: not yet renamed to the checkpoint
            var rest = StopRequest.Grace + TimeSpan.FromMilliseconds(50) - sinceFirst.Elapsed;
            if (rest > TimeSpan.Zero) Thread.Sleep(rest); // a person's second press, not the first one delivered twice
            Interrupt(process);
        }
        catch
        {
            process.Kill(); // a frozen run would never end, and a continued one would train for many minutes
            throw;
        }
        finally
        {
            _ = Kill(process.Id, SigCont); // fails only for the run killed above
        }
        string all = AssertStoppedAndSaved(process, "during.safetensors");
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, "interrupted at step"));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    private const int SigStop = 19, SigCont = 18;

    // A StartLongSteps run that was asked to stop: it ends with 130 once it has saved step 2 to checkpoint. Returns what
    // it wrote on stderr meanwhile.
    private string AssertStoppedAndSaved(Process process, string checkpoint)
    {
        var rest = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        Assert.Equal(130, process.ExitCode);
        Assert.DoesNotContain("without saving;", rest);
        Assert.Matches(@"interrupted at step \d+", rest);
        Assert.True(Checkpoint.Load(PathOf(checkpoint)).Training!.Step >= 2);
        return rest;
    }

    [Fact]
    public void A_second_ctrl_c_quits_at_once_without_saving_and_says_so()
    {
        // both signals arrive within step 2, the second a person's pause after the first: steps of about 3 s leave that
        // margin on a CPU a few times faster
        using var process = StartLongSteps("quit.safetensors", seqLen: 4000);
        Interrupt(process);
        string? line;
        do line = process.StandardError.ReadLine(); while (line is not null && !line.StartsWith("stopping after this step", StringComparison.Ordinal));
        Assert.Equal("stopping after this step and saving to quit.safetensors; press Ctrl+C again to quit without saving", line);
        Thread.Sleep(StopRequest.Grace + TimeSpan.FromMilliseconds(50)); // a person's second press, not the first one delivered twice
        Interrupt(process);
        var rest = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("quitting at once without saving; this run wrote no checkpoint", rest);
        Assert.DoesNotContain("interrupted at step", rest);
        Assert.False(File.Exists(PathOf("quit.safetensors")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }
}
