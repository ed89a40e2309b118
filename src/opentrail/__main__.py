from opentrail.cli.launch import main

main()
