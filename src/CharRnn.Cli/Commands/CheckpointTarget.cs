using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary>
/// Where a training run saves: checked before step 1 (writable, and what a file already there is), written atomically
/// (through a symbolic link to its target), and remembered, so messages name the checkpoint this run actually wrote.
/// </summary>
/// <param name="path">as the user gave it</param>
/// <param name="resumedFrom">the checkpoint a resumed run started from, and its step</param>
internal sealed class CheckpointTarget(string path, string? resumedFrom = null, long resumedStep = 0)
{
    private readonly Lock _writing = new();

    public string Path { get; } = path;

    /// <summary>The step of the last checkpoint this run wrote, or null if it wrote none.</summary>
    public long? LastWrittenStep { get; private set; }

    /// <summary>
    /// Before step 1: fails (<see cref="CommandError"/>) if a checkpoint of <paramref name="model"/> and
    /// <paramref name="trainer"/> cannot be written, or if a file that is not a model would be replaced. Returns a
    /// warning when the path holds a model file this run did not write (not the file it resumed from and not a
    /// checkpoint of run <paramref name="runId"/>), null otherwise.
    /// </summary>
    public string? Prepare(CharRnnModel model, Trainer trainer, string runId)
    {
        string target;
        try
        {
            Checkpoint.CheckWritable(Path, model, trainer);
            target = SafetensorsWriter.ResolveTarget(Path);
            if (!File.Exists(target) || new FileInfo(target).Length == 0) return null;
            if (resumedFrom is not null && SafetensorsWriter.ResolveTarget(resumedFrom) == target) return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write checkpoint '{Path}': {e.Message}"); }

        IReadOnlyDictionary<string, string> metadata;
        try { metadata = SafetensorsReader.Read(target).Metadata; }
        catch (CheckpointFormatException) { throw ReplaceCheck.Refusal(Path, "a model file", "--checkpoint"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"'{Path}' exists and cannot be read ({e.Message}); this run will replace it"; }
        if (metadata.GetValueOrDefault(CheckpointKeys.RunId) == runId) return null;
        string what = metadata.TryGetValue(CheckpointKeys.Step, out var step) ? $"a checkpoint of another run (step {step})" : "a model file from elsewhere";
        return $"'{Path}' holds {what}; this run will replace it";
    }

    /// <summary>
    /// Saves atomically (unless <see cref="StopWriting"/> was called: then it waits for the process to end), then calls
    /// <paramref name="written"/> to report it while no one can stop the writing yet: a quit that waited for this write
    /// names it after its report, never before.
    /// </summary>
    public void Save(CharRnnModel model, Trainer trainer, IReadOnlyDictionary<string, string> metadata, string rngState, Action written)
    {
        lock (_writing)
        {
            try { Checkpoint.Save(Path, model, trainer, metadata, rngState); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot write checkpoint '{Path}': {e.Message}"); }
            LastWrittenStep = trainer.Step;
            written();
        }
    }

    /// <summary>
    /// For a process about to exit: waits for a write under way to finish, then keeps every later one from starting (the
    /// lock is never released), so no checkpoint is cut short.
    /// </summary>
    public void StopWriting() => _writing.Enter();

    /// <summary>"the last checkpoint this run wrote is 'x' (step N)", or that it wrote none (and what is unchanged).</summary>
    public string DescribeWritten() => LastWrittenStep is { } step ? $"the last checkpoint this run wrote is '{Path}' (step {step})"
        : resumedFrom is not null ? $"this run wrote no checkpoint ('{resumedFrom}', step {resumedStep}, is unchanged)"
        : "this run wrote no checkpoint";
}
