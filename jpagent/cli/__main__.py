from jpagent.cli import main

main()
