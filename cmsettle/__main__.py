from cmsettle.console import main

main()
