from traininglog.cli import main

main()
