using CharRnn.Cli.Arguments;
using CharRnn.Cli.Commands;
using CharRnn.Fast.Kernels;

namespace CharRnn.Cli;

/// <summary>
/// Entry point of <c>charrnn</c>. Exit codes: 0 success, 1 a problem with inputs or files, 2 a command-line mistake,
/// 70 an internal error, 130 interrupted (training saved a checkpoint, or reading a corpus stopped).
/// </summary>
internal static class Program
{
    private sealed record Command(string Name, string Summary, Option[] Options, Func<string> Help, Func<ParsedArguments, int> Run, int Positional = 0);

    private static readonly Command[] Commands =
    [
        new("train", "train a model on a text file (or the embedded corpus) and save a checkpoint", TrainCommand.Options, () => TrainCommand.HelpText, TrainCommand.Run),
        new("sample", "generate text from a model", SampleCommand.Options, () => SampleCommand.HelpText, SampleCommand.Run),
        new("eval", "cross-entropy (nats/char, bits/char, perplexity) of a model on a text file", EvalCommand.Options, () => EvalCommand.HelpText, EvalCommand.Run),
        new("prepare", "tokenize a corpus into its token store ahead of training", PrepareCommand.Options, () => PrepareCommand.HelpText, PrepareCommand.Run),
        new("plot", "draw the training and validation curves of a train --log file as an SVG", PlotCommand.Options, () => PlotCommand.HelpText, PlotCommand.Run, Positional: 1),
        new("info", "describe a model file", InfoCommand.Options, () => InfoCommand.HelpText, InfoCommand.Run),
        new("bench", "measure training and generation speed", BenchCommand.Options, () => BenchCommand.HelpText, BenchCommand.Run),
        new("quantize", "write a compact copy of a model for generation (bf16 or int8 weights)", QuantizeCommand.Options, () => QuantizeCommand.HelpText, QuantizeCommand.Run, Positional: 1),
    ];

    public static int Main(string[] args)
    {
        Console.OutputEncoding = new System.Text.UTF8Encoding(false);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            // charrnn help COMMAND: that command's help, as charrnn COMMAND --help
            if (args is ["help", var name])
            {
                if (Commands.FirstOrDefault(c => c.Name == name) is not { } named) return UnknownCommand(name);
                Console.Out.Write(named.Help());
                return 0;
            }
            Console.Out.Write(TopLevelHelp());
            return args.Length == 0 ? 2 : 0;
        }
        KernelPolicy policy;
        try { policy = KernelPolicy.Default; }
        catch (InvalidOperationException e) { return Fail(2, e.Message); }
        if (args[0] == "--version")
        {
            Console.Out.WriteLine($"charrnn {typeof(Program).Assembly.GetName().Version?.ToString(3)} ({BuildVariant.Name} build, kernels {policy})");
            return 0;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null) return UnknownCommand(args[0]);
        var rest = args[1..];
        if (rest.Any(x => x is "-h" or "--help"))
        {
            Console.Out.Write(command.Help());
            return 0;
        }
        try
        {
            return command.Run(ParsedArguments.Parse(rest, command.Options, command.Positional));
        }
        catch (UsageException e) { return Fail(2, $"{e.Message}\n(charrnn {command.Name} --help lists the options)"); }
        catch (CommandError e) { return Fail(1, e.Message); }
        catch (StoppedException e)
        {
            Console.Error.WriteLine($"charrnn: {e.Message}");
            return StopRequest.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail(1, e.Message); }
        catch (OutOfMemoryException)
        {
            string smaller = command.Name is "train" or "bench" ? " (a smaller --hidden, --layers, --batch or --seq-len needs less)" : "";
            return Fail(1, $"out of memory: '{command.Name}' needs more memory than this process may use{smaller}");
        }
        catch (Exception e)
        {
            return Fail(70, $"internal error: {e.GetType().Name}: {e.Message}\nThis is a bug in charrnn; please report it with the command line that caused it.\n{e.StackTrace}");
        }
    }

    private static int UnknownCommand(string name)
        => Fail(2, $"unknown command '{name}'; commands: {string.Join(", ", Commands.Select(c => c.Name))} (see charrnn --help)");

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"charrnn: error: {message}");
        return code;
    }

    private static string TopLevelHelp()
    {
        var lines = Commands.Select(c => $"  {c.Name,-9}{c.Summary}");
        return "usage: charrnn <command> [options]\n\n" +
               "Character-level recurrent networks: train, sample, evaluate, inspect, benchmark; tokenize corpora, plot training\n" +
               "logs. Models are safetensors files.\n\n" +
               "commands:\n" + string.Join('\n', lines) + "\n\n" +
               "charrnn <command> --help (or charrnn help <command>) shows a command's options; charrnn --version shows the version, the build and the vector path.\n" +
               $"Environment: {KernelPolicy.EnvironmentVariable}=512|256|128|scalar forces a narrower vector path\n" +
               $"(kernel policies on this CPU: {string.Join(", ", KernelPolicy.Available.Select(p => p.Name))}).\n";
    }
}
