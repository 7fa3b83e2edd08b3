pytest_plugins = ["tests.fakediscord", "tests.simfixtures"]
