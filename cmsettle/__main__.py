from cmsettle.cli import main

main()
