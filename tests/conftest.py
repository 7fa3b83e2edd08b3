pytest_plugins = ["tests.fakediscord", "tests.simfixtures", "tests.botharness",
                  "tests.storefixtures"]
