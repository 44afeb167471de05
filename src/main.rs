fn main() -> std::process::ExitCode {
    replygate::cli::main()
}
